package pages

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/guichet/guichet/shared/invitations"
	"github.com/guichet/guichet/shared/oidc/registry"
	"github.com/guichet/guichet/shared/permission"
	"github.com/guichet/guichet/shared/problem"
	"github.com/guichet/guichet/shared/session"
	"github.com/guichet/guichet/shared/validate"
)

// --- invitation ---

func (s *Service) invitePage(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.showInvite(w, r, v, http.StatusOK, r.URL.Query().Get("token"))
}

// showInvite shows what the invitation link token invites to, and the form
// to accept it; or why the link does not work.
func (s *Service) showInvite(w http.ResponseWriter, r *http.Request, v *view, status int, tok string) error {
	pv, err := s.Invitations.Preview(r.Context(), tok)
	if err != nil {
		return err
	}
	if name, builtIn := permission.BuiltInName(pv.Role, v.Lang); builtIn {
		pv.RoleName = name // in the page's language, which may not be the invitation's
	}
	v.Invite, v.Token = pv, tok
	v.self.Set("token", tok)
	b, ok, err := s.browser(r.Context(), r)
	if err != nil {
		return err
	}
	switch {
	case ok && strings.EqualFold(b.User.Email, pv.Email):
		// The invited person is signed in: one button joins, no password.
		v.AcceptAs = displayName(b.User)
	case ok:
		v.Notice = v.T("invite.signed_in_as", displayName(b.User))
	default:
		if access := s.cookie(r, sessionCookie); access != "" {
			if a, ok, err := s.whoIs(r.Context(), access); err == nil && ok {
				v.Notice = v.T("invite.signed_in_as", a.name)
			}
		}
	}
	return s.form(w, r, v, status, "invite", "invite.title", "/invite")
}

func (s *Service) acceptInvite(w http.ResponseWriter, r *http.Request, v *view) error {
	f := r.PostForm
	tok := f.Get("token")
	if !s.csrfOK(r, "/invite") {
		v.Alert = v.T("err.csrf")
		return s.showInvite(w, r, v, http.StatusForbidden, tok)
	}
	if f.Get("as_signed_in") == "1" {
		// The browser's session of the invited person accepts it: a new
		// membership, its session replacing the browser's.
		b, live, err := s.browser(r.Context(), r)
		if err != nil {
			return err
		}
		var t any
		if live {
			// The new membership's session is of the same sign-in: its
			// auth_time stays that one's (max_age is not satisfied anew).
			c := client(r)
			c.AuthTime = b.AuthTime
			t, err = s.Invitations.Accept(r.Context(), invitations.AcceptRequest{Token: tok, Browser: s.sso.Read(r)}, c)
		}
		if p, ok := problem.As(err); !live || ok && (p.Code == "invalid_token" || p.Code == "not_invited_person") {
			// The session ended since the page showed (or was never
			// there): the usual form, saying so.
			v.Alert = v.T("err.session_gone")
			return s.showInvite(w, r, v, http.StatusUnauthorized, tok)
		}
		if err != nil {
			return err
		}
		return s.next(w, r, v, t, s.signIn, func() error {
			s.message(w, v, http.StatusOK, "invite.title", v.T("err.step_unsupported"), v.signInLink())
			return nil
		})
	}
	if f.Get("password") != f.Get("confirm") {
		v.errors["confirm"], v.Alert = v.T("err.confirm"), v.T("err.form")
		return s.showInvite(w, r, v, http.StatusUnprocessableEntity, tok)
	}
	// The browser may hold another account's session: it ends before the
	// new account signs in, so that nobody acts as the wrong person.
	if err := s.endCookieSession(w, r); err != nil {
		return err
	}
	t, err := s.Invitations.Accept(r.Context(), invitations.AcceptRequest{Token: tok,
		Password: f.Get("password"), FirstName: f.Get("first_name"), LastName: f.Get("last_name")}, client(r))
	if p, ok := problem.As(err); ok && p.Code == "validation_failed" {
		v.invalid(p)
		return s.showInvite(w, r, v, p.Status, tok)
	}
	if err != nil {
		return err
	}
	// A challenge is a step the organization requires first.
	return s.next(w, r, v, t, s.signedIn, func() error {
		s.message(w, v, http.StatusOK, "invite.title", v.T("err.step_unsupported"), v.signInLink())
		return nil
	})
}

// --- password reset ---

func (s *Service) resetPage(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.showReset(w, r, v, http.StatusOK, r.URL.Query().Get("token"))
}

// showReset shows the form of a working reset link, or why it does not
// work.
func (s *Service) showReset(w http.ResponseWriter, r *http.Request, v *view, status int, tok string) error {
	if err := s.Resets.Check(r.Context(), tok); err != nil {
		return err
	}
	v.Token = tok
	v.self.Set("token", tok)
	return s.form(w, r, v, status, "reset", "reset.title", "/reset")
}

func (s *Service) completeReset(w http.ResponseWriter, r *http.Request, v *view) error {
	f := r.PostForm
	tok := f.Get("token")
	if !s.csrfOK(r, "/reset") {
		v.Alert = v.T("err.csrf")
		return s.showReset(w, r, v, http.StatusForbidden, tok)
	}
	if f.Get("password") != f.Get("confirm") {
		v.errors["confirm"], v.Alert = v.T("err.confirm"), v.T("err.form")
		return s.showReset(w, r, v, http.StatusUnprocessableEntity, tok)
	}
	err := s.Resets.Complete(r.Context(), tok, f.Get("password"), true)
	if p, ok := problem.As(err); ok && p.Code == "validation_failed" {
		v.invalid(p)
		return s.showReset(w, r, v, p.Status, tok)
	}
	if err != nil {
		return err
	}
	s.message(w, v, http.StatusOK, "reset.done.title", v.T("reset.done.text"),
		v.onwardLink(v.signInLink()))
	return nil
}

// --- forgot password ---

func (s *Service) forgotPage(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.form(w, r, v, http.StatusOK, "forgot", "forgot.title", "/forgot")
}

// requestReset asks for a reset link. Whether the address has an account
// or not, the answer is the same page after the same time (the floor).
func (s *Service) requestReset(w http.ResponseWriter, r *http.Request, v *view) error {
	if !s.csrfOK(r, "/forgot") {
		v.Alert = v.T("err.csrf")
		return s.form(w, r, v, http.StatusForbidden, "forgot", "forgot.title", "/forgot")
	}
	var errs validate.Errors
	email, _ := errs.Email("email", r.PostForm.Get("email"))
	if err := errs.Err(); err != nil {
		p, _ := problem.As(err)
		v.invalid(p)
		return s.form(w, r, v, p.Status, "forgot", "forgot.title", "/forgot")
	}
	back := registry.Back{Client: v.Onward.Client, URI: v.Onward.ReturnTo} // checked by onwardOf
	if err := s.Resets.Forgot(r.Context(), email, r.RemoteAddr, back); err != nil {
		return err
	}
	s.message(w, v, http.StatusOK, "forgot.done.title", v.T("forgot.done.text"),
		v.signInLink())
	return nil
}

// --- sign in ---

func (s *Service) loginPage(w http.ResponseWriter, r *http.Request, v *view) error {
	if v.Onward.AuthRequest != "" {
		if done, err := s.authorize(w, r, v); done || err != nil {
			return err
		}
	}
	return s.form(w, r, v, http.StatusOK, "login", "login.title", "/login")
}

func (s *Service) login(w http.ResponseWriter, r *http.Request, v *view) error {
	again := func(status int, alert string) error {
		v.Alert = alert
		return s.form(w, r, v, status, "login", "login.title", "/login")
	}
	if !s.csrfOK(r, "/login") {
		return again(http.StatusForbidden, v.T("err.csrf"))
	}
	f := r.PostForm
	var errs validate.Errors
	errs.Required("login", f.Get("login"), 320)
	errs.Required("password", f.Get("password"), 1024)
	errs.Optional("organization", f.Get("organization"), 64)
	if err := errs.Err(); err != nil {
		p, _ := problem.As(err)
		v.invalid(p)
		return again(p.Status, v.Alert)
	}
	res, err := s.Sessions.Login(r.Context(), f.Get("login"), f.Get("organization"), f.Get("password"), client(r))
	if p, ok := problem.As(err); ok {
		switch p.Code {
		case "invalid_credentials": // unknown login and wrong password alike
			return again(p.Status, v.T("err.credentials"))
		case "login_locked":
			w.Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
			return again(p.Status, v.T("err.locked", max(1, (p.RetryAfter+59)/60)))
		case "account_inactive":
			return again(p.Status, v.T("err.inactive"))
		case "service_user":
			return again(p.Status, v.T("err.service_user"))
		}
	}
	if err != nil {
		return err
	}
	return s.next(w, r, v, res, s.signIn, func() error {
		return again(http.StatusOK, v.T("err.step_unsupported"))
	})
}

// next takes a sign-in on after a step of it answered res: tokens sign in
// through signIn; a challenge shows the form of its step, or, when the
// pages cannot take that step, whatever unsupported shows.
func (s *Service) next(w http.ResponseWriter, r *http.Request, v *view, res any,
	signIn func(http.ResponseWriter, *http.Request, *view, session.Tokens) error, unsupported func() error) error {
	switch res := res.(type) {
	case session.Tokens:
		return signIn(w, r, v, res)
	case session.Challenge:
		if _, ok := s.steps[res.Challenge]; !ok {
			return unsupported()
		}
		v.values = url.Values{} // nothing of the previous form belongs to the step's
		v.Choices = res.Organizations
		return s.showStep(w, r, v, http.StatusOK, res.Challenge, res.ChallengeToken)
	}
	return problem.Internal()
}

// signIn ends the browser's previous session on the pages, if any, and
// signs in with t.
func (s *Service) signIn(w http.ResponseWriter, r *http.Request, v *view, t session.Tokens) error {
	if err := s.endCookieSession(w, r); err != nil {
		return err
	}
	return s.signedIn(w, r, v, t)
}

// step is a sign-in step (a login challenge) the pages can take: the
// inputs of its form and how they answer it. A login asking for a step
// shows its form; its post goes to /login/step with the challenge's name
// and token in hidden fields. The MFA step ("mfa": a code field answered
// through the session service) is one more entry of loginSteps.
type step struct {
	fields func(v *view) []field
	// answer returns session.Tokens, or a session.Challenge for the next step.
	answer func(ctx context.Context, token string, form url.Values, c session.Client) (any, error)
}

func (s *Service) loginSteps() map[string]step {
	return map[string]step{
		"password_change": {
			fields: func(v *view) []field {
				return []field{v.Hint(v.Field("new_password", "password", "new-password"), "hint.pin"),
					v.Field("confirm", "password", "new-password")}
			},
			answer: func(ctx context.Context, token string, f url.Values, c session.Client) (any, error) {
				if f.Get("new_password") != f.Get("confirm") {
					return nil, problem.Invalid(problem.FieldError{Field: "confirm", Message: mismatch})
				}
				var errs validate.Errors
				errs.Required("new_password", f.Get("new_password"), 1024)
				if err := errs.Err(); err != nil {
					return nil, err
				}
				return s.Sessions.ChangePassword(ctx, token, f.Get("new_password"), c)
			},
		},
		"organization": {
			fields: func(v *view) []field {
				if len(v.Choices) > 0 {
					return nil // a button per organization
				}
				return []field{v.Field("organization", "text", "organization")}
			},
			answer: func(ctx context.Context, token string, f url.Values, c session.Client) (any, error) {
				var errs validate.Errors
				errs.Required("organization", f.Get("organization"), 64)
				if err := errs.Err(); err != nil {
					return nil, err
				}
				return s.Sessions.ChooseOrganization(ctx, token, strings.TrimSpace(f.Get("organization")), c)
			},
		},
		"email_proof": codeStep(32, s.Sessions.ProveEmail),
		"mfa":         codeStep(64, s.Sessions.AnswerMFA),
	}
}

// showStep shows the form of a sign-in step.
func (s *Service) showStep(w http.ResponseWriter, r *http.Request, v *view, status int, name, tok string) error {
	st := s.steps[name]
	v.Step, v.StepToken = name, tok
	v.Fields = st.fields(v)
	return s.form(w, r, v, status, "step", "step."+name+".title", "/login/step")
}

func (s *Service) loginStep(w http.ResponseWriter, r *http.Request, v *view) error {
	f := r.PostForm
	name, tok := f.Get("step"), f.Get("step_token")
	st, ok := s.steps[name]
	if !ok || len(tok) > 128 {
		s.message(w, v, http.StatusBadRequest, "error.bad_form.title", v.T("error.bad_form.text"), nil)
		return nil
	}
	if !s.csrfOK(r, "/login/step") {
		v.Alert = v.T("err.csrf")
		return s.showStep(w, r, v, http.StatusForbidden, name, tok)
	}
	res, err := st.answer(r.Context(), tok, f, client(r))
	if p, ok := problem.As(err); ok && p.Code == "validation_failed" {
		v.invalid(p)
		return s.showStep(w, r, v, p.Status, name, tok)
	}
	if p, ok := problem.As(err); ok && (p.Code == "invalid_code" || p.Code == "code_used") && (name == "mfa" || name == "email_proof") {
		// A wrong or used code: the same step again, saying so.
		v.Alert = v.T("err.code")
		return s.showStep(w, r, v, p.Status, name, tok)
	}
	if err != nil {
		return err
	}
	return s.next(w, r, v, res, s.signIn, func() error {
		s.message(w, v, http.StatusOK, "step."+name+".title", v.T("err.step_unsupported"), nil)
		return nil
	})
}

// --- e-mail change ---

// emailConfirmPage shows the button confirming a new e-mail address. The
// link itself changes nothing: mail scanners open links, people press
// buttons.
func (s *Service) emailConfirmPage(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.showEmailConfirm(w, r, v, http.StatusOK, r.URL.Query().Get("token"))
}

func (s *Service) showEmailConfirm(w http.ResponseWriter, r *http.Request, v *view, status int, tok string) error {
	v.Token = tok
	v.self.Set("token", tok)
	return s.form(w, r, v, status, "email", "email.title", "/email/confirm")
}

func (s *Service) confirmEmail(w http.ResponseWriter, r *http.Request, v *view) error {
	tok := r.PostForm.Get("token")
	if !s.csrfOK(r, "/email/confirm") {
		v.Alert = v.T("err.csrf")
		return s.showEmailConfirm(w, r, v, http.StatusForbidden, tok)
	}
	out, err := s.Profile.ConfirmEmailChange(r.Context(), tok)
	if err != nil {
		return err
	}
	s.message(w, v, http.StatusOK, "email.done.title", fmt.Sprintf(v.T("email.done.text"), out.Email),
		v.onwardLink(v.signInLink()))
	return nil
}

// codeStep is a login step answered with a one-time code (the mailed
// address proof, a two-step code): a code field, never refilled, and the
// answer given to answer, trimmed.
func codeStep(max int, answer func(ctx context.Context, token, code string, c session.Client) (any, error)) step {
	return step{
		fields: func(v *view) []field {
			f := v.Field("code", "text", "one-time-code")
			f.Value = ""
			return []field{f}
		},
		answer: func(ctx context.Context, token string, f url.Values, c session.Client) (any, error) {
			var errs validate.Errors
			errs.Required("code", f.Get("code"), max)
			if err := errs.Err(); err != nil {
				return nil, err
			}
			return answer(ctx, token, strings.TrimSpace(f.Get("code")), c)
		},
	}
}
