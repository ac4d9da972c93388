package pages

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/guichet/guichet/shared/language"
)

// pageLanguage picks the page's language: a supported ?lang= (or the form's
// lang field on a post, parsed already), else the best supported language
// of Accept-Language, else English.
func pageLanguage(r *http.Request) string {
	for _, l := range []string{r.PostForm.Get("lang"), r.URL.Query().Get("lang")} {
		if l = strings.ToLower(strings.TrimSpace(l)); language.Valid(l) {
			return l
		}
	}
	return fromAcceptLanguage(r.Header.Get("Accept-Language"))
}

// fromAcceptLanguage returns the supported language of highest quality in
// an Accept-Language header, or English.
func fromAcceptLanguage(h string) string {
	if l, ok := language.FromAccept(h); ok {
		return l
	}
	return language.Fallback
}

// translate returns the text of key in lang, formatted with args; English
// when lang lacks it, and the key itself when no language has it (a test
// checks every key exists in every language).
func translate(lang, key string, args ...any) string {
	s, ok := catalog[lang][key]
	if !ok {
		if s, ok = catalog["en"][key]; !ok {
			s = key
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// fieldMessage translates a field error of the services, which speak
// English. An unknown message is shown as it is.
func fieldMessage(lang, msg string) string {
	if key, ok := fieldMessages[msg]; ok {
		return translate(lang, key)
	}
	var n int
	if _, err := fmt.Sscanf(msg, "must be at most %d characters", &n); err == nil {
		return translate(lang, "err.max", n)
	}
	return msg
}

// mismatch is the field error of a confirmation that differs.
const mismatch = "must match the password"

var fieldMessages = map[string]string{
	mismatch:                              "err.confirm",
	"is required":                         "err.required",
	"must not contain control characters": "err.control",
	"must be an e-mail address such as name@example.com": "err.email",
	"must be a 6-digit PIN":                              "err.pin",
	"must be 10 to 1024 characters":                      "err.password_length",
	"must not be the login":                              "err.password_login",
	"is too common; choose a less guessable password":    "err.password_common",
	"must differ from the current password":              "err.password_same",
}

var catalog = map[string]map[string]string{
	"en": {
		"lang.name":                   "English",
		"brand":                       "Guichet",
		"field.first_name":            "First name",
		"field.last_name":             "Last name",
		"field.password":              "Password",
		"field.confirm":               "Confirm the password",
		"field.new_password":          "New password",
		"field.email":                 "E-mail address",
		"field.login":                 "E-mail address or username",
		"field.organization":          "Organization code",
		"hint.organization":           "Only if you sign in with a username.",
		"hint.password":               "At least 10 characters.",
		"hint.pin":                    "A 6-digit PIN for a username account; at least 10 characters otherwise.",
		"err.required":                "Required.",
		"err.control":                 "Must not contain control characters.",
		"err.email":                   "Enter an e-mail address such as name@example.com.",
		"err.pin":                     "Must be a 6-digit PIN.",
		"err.password_length":         "Must be 10 to 1024 characters.",
		"err.password_login":          "Must not be your login.",
		"err.password_common":         "Too common; choose a less guessable password.",
		"err.password_same":           "Must differ from your current password.",
		"err.max":                     "At most %d characters.",
		"err.confirm":                 "The two passwords differ.",
		"err.form":                    "Some fields need your attention.",
		"err.csrf":                    "This form expired or did not come from this site. Check the fields and send it again.",
		"err.credentials":             "The login or the password is wrong.",
		"err.locked":                  "Too many failed attempts. Try again later (in about %d minutes).",
		"err.inactive":                "This account is inactive. Ask your organization's administrator.",
		"err.service_user":            "Service users cannot sign in here.",
		"err.step_unsupported":        "This account needs a sign-in step this page cannot do yet. Use the app to sign in.",
		"err.too_many":                "Too many requests. Try again later.",
		"invite.title":                "Accept your invitation",
		"invite.intro":                "You are invited to join %s.",
		"invite.email":                "Your login will be",
		"invite.role":                 "Role",
		"invite.signed_in_as":         "You are signed in as %s. Accepting this invitation signs you out of that account.",
		"invite.submit":               "Create my account",
		"email.title":                 "Confirm your new e-mail address",
		"email.intro":                 "Press the button to make this address your e-mail and login. Until then, your former address stays your login.",
		"email.submit":                "Confirm this address",
		"email.done.title":            "E-mail address changed",
		"email.done.text":             "Your login is now %s.",
		"reset.title":                 "Choose a new password",
		"reset.intro":                 "Choose the new password of your account. Every session and every API key of the account will be ended.",
		"reset.submit":                "Change my password",
		"reset.done.title":            "Password changed",
		"reset.done.text":             "Your password was changed. Sign in with your new password.",
		"forgot.title":                "Forgot your password?",
		"forgot.intro":                "Enter the e-mail address of your account; we will send it a link to choose a new password.",
		"forgot.submit":               "Send me a link",
		"forgot.done.title":           "Check your e-mail",
		"forgot.done.text":            "If this address has an account, a link to choose a new password is on its way. It works once, for one hour.",
		"login.title":                 "Sign in",
		"login.submit":                "Sign in",
		"login.forgot":                "Forgot your password?",
		"step.mfa.title":              "Two-step verification",
		"step.mfa.intro":              "Enter the 6-digit code of your authenticator app, or one of your recovery codes.",
		"step.mfa.submit":             "Verify and sign in",
		"step.email_proof.title":      "Confirm your address",
		"step.email_proof.intro":      "We sent a 6-digit code to your e-mail address. Enter it to prove the address is yours.",
		"step.email_proof.submit":     "Confirm and sign in",
		"field.code":                  "Code",
		"err.code":                    "This code is wrong or was already used.",
		"step.password_change.title":  "Choose a new password",
		"step.password_change.intro":  "You must choose a new password before you continue.",
		"step.password_change.submit": "Change and sign in",
		"signed_in.title":             "You are signed in",
		"signed_in.text":              "You are signed in as %s.",
		"signed_in.continue":          "Continue to the app",
		"link.sign_in":                "Sign in",
		"link.forgot":                 "Ask for a new link",
		"link.login_again":            "Sign in again",
		"error.invalid_link.title":    "This link does not work",
		"error.invalid_link.text":     "This link is unknown, or was replaced by a newer one or revoked. Check that you copied it whole, or ask for a new one.",
		"error.link_expired.title":    "This link has expired",
		"error.link_expired.invite":   "This invitation has expired. Ask the person who invited you to send a new one.",
		"error.link_expired.reset":    "This link has expired. Ask for a new one.",
		"error.link_used.title":       "This link was already used",
		"error.link_used.invite":      "This invitation was already accepted. Sign in with the account it created.",
		"error.link_used.reset":       "This link was already used. If you still need to change your password, ask for a new link.",
		"error.step_expired.title":    "This sign-in expired",
		"error.step_expired.text":     "This sign-in step expired or was already answered. Sign in again.",
		"error.conflict.title":        "This invitation cannot be accepted",
		"error.user_exists":           "An account with this e-mail address already exists. Sign in with it.",
		"error.gone":                  "Something the invitation refers to no longer exists. Ask for a new invitation.",
		"error.too_many.title":        "Please wait",
		"error.unavailable.title":     "Temporarily unavailable",
		"error.unavailable.text":      "The service is temporarily unavailable. Try again in a moment.",
		"error.internal.title":        "Something went wrong",
		"error.internal.text":         "An unexpected error occurred. Try again later.",
		"error.bad_form.title":        "This form could not be read",
		"error.bad_form.text":         "Send the form from its page again.",
	},
	"fr": {
		"lang.name":                   "Français",
		"brand":                       "Guichet",
		"field.first_name":            "Prénom",
		"field.last_name":             "Nom",
		"field.password":              "Mot de passe",
		"field.confirm":               "Confirmez le mot de passe",
		"field.new_password":          "Nouveau mot de passe",
		"field.email":                 "Adresse e-mail",
		"field.login":                 "Adresse e-mail ou nom d’utilisateur",
		"field.organization":          "Code de l’organisation",
		"hint.organization":           "Seulement si vous vous connectez avec un nom d’utilisateur.",
		"hint.password":               "Au moins 10 caractères.",
		"hint.pin":                    "Un code PIN à 6 chiffres pour un compte à nom d’utilisateur ; au moins 10 caractères sinon.",
		"err.required":                "Obligatoire.",
		"err.control":                 "Ne doit pas contenir de caractères de contrôle.",
		"err.email":                   "Saisissez une adresse e-mail comme nom@exemple.fr.",
		"err.pin":                     "Doit être un code PIN à 6 chiffres.",
		"err.password_length":         "Doit compter de 10 à 1024 caractères.",
		"err.password_login":          "Ne doit pas être votre identifiant.",
		"err.password_common":         "Trop courant ; choisissez un mot de passe moins facile à deviner.",
		"err.password_same":           "Doit être différent de votre mot de passe actuel.",
		"err.max":                     "Au plus %d caractères.",
		"err.confirm":                 "Les deux mots de passe diffèrent.",
		"err.form":                    "Certains champs demandent votre attention.",
		"err.csrf":                    "Ce formulaire a expiré ou ne vient pas de ce site. Vérifiez les champs et envoyez-le à nouveau.",
		"err.credentials":             "L’identifiant ou le mot de passe est incorrect.",
		"err.locked":                  "Trop de tentatives échouées. Réessayez plus tard (dans environ %d minutes).",
		"err.inactive":                "Ce compte est désactivé. Adressez-vous à l’administrateur de votre organisation.",
		"err.service_user":            "Les utilisateurs de service ne peuvent pas se connecter ici.",
		"err.step_unsupported":        "Ce compte demande une étape de connexion que cette page ne sait pas encore faire. Connectez-vous depuis l’application.",
		"err.too_many":                "Trop de demandes. Réessayez plus tard.",
		"invite.title":                "Acceptez votre invitation",
		"invite.intro":                "Vous êtes invité·e à rejoindre %s.",
		"invite.email":                "Votre identifiant sera",
		"invite.role":                 "Rôle",
		"invite.signed_in_as":         "Vous êtes connecté·e en tant que %s. Accepter cette invitation vous déconnecte de ce compte.",
		"invite.submit":               "Créer mon compte",
		"email.title":                 "Confirmez votre nouvelle adresse e-mail",
		"email.intro":                 "Appuyez sur le bouton pour faire de cette adresse votre e-mail et identifiant. D'ici là, votre ancienne adresse reste votre identifiant.",
		"email.submit":                "Confirmer cette adresse",
		"email.done.title":            "Adresse e-mail changée",
		"email.done.text":             "Votre identifiant est désormais %s.",
		"reset.title":                 "Choisissez un nouveau mot de passe",
		"reset.intro":                 "Choisissez le nouveau mot de passe de votre compte. Toutes les sessions et toutes les clés d'API du compte seront fermées.",
		"reset.submit":                "Changer mon mot de passe",
		"reset.done.title":            "Mot de passe changé",
		"reset.done.text":             "Votre mot de passe a été changé. Connectez-vous avec votre nouveau mot de passe.",
		"forgot.title":                "Mot de passe oublié ?",
		"forgot.intro":                "Saisissez l’adresse e-mail de votre compte ; nous y enverrons un lien pour choisir un nouveau mot de passe.",
		"forgot.submit":               "M’envoyer un lien",
		"forgot.done.title":           "Consultez vos e-mails",
		"forgot.done.text":            "Si cette adresse a un compte, un lien pour choisir un nouveau mot de passe est en route. Il fonctionne une fois, pendant une heure.",
		"login.title":                 "Connexion",
		"login.submit":                "Se connecter",
		"login.forgot":                "Mot de passe oublié ?",
		"step.mfa.title":              "Validation en deux étapes",
		"step.mfa.intro":              "Saisissez le code à 6 chiffres de votre application d'authentification, ou l'un de vos codes de récupération.",
		"step.mfa.submit":             "Vérifier et se connecter",
		"step.email_proof.title":      "Confirmez votre adresse",
		"step.email_proof.intro":      "Nous avons envoyé un code à 6 chiffres à votre adresse e-mail. Saisissez-le pour prouver que l'adresse est la vôtre.",
		"step.email_proof.submit":     "Confirmer et se connecter",
		"field.code":                  "Code",
		"err.code":                    "Ce code est erroné ou a déjà été utilisé.",
		"step.password_change.title":  "Choisissez un nouveau mot de passe",
		"step.password_change.intro":  "Vous devez choisir un nouveau mot de passe avant de continuer.",
		"step.password_change.submit": "Changer et se connecter",
		"signed_in.title":             "Vous êtes connecté·e",
		"signed_in.text":              "Vous êtes connecté·e en tant que %s.",
		"signed_in.continue":          "Continuer vers l’application",
		"link.sign_in":                "Se connecter",
		"link.forgot":                 "Demander un nouveau lien",
		"link.login_again":            "Se reconnecter",
		"error.invalid_link.title":    "Ce lien ne fonctionne pas",
		"error.invalid_link.text":     "Ce lien est inconnu, ou a été remplacé par un plus récent ou révoqué. Vérifiez que vous l’avez copié en entier, ou demandez-en un nouveau.",
		"error.link_expired.title":    "Ce lien a expiré",
		"error.link_expired.invite":   "Cette invitation a expiré. Demandez à la personne qui vous a invité·e de vous en envoyer une nouvelle.",
		"error.link_expired.reset":    "Ce lien a expiré. Demandez-en un nouveau.",
		"error.link_used.title":       "Ce lien a déjà servi",
		"error.link_used.invite":      "Cette invitation a déjà été acceptée. Connectez-vous avec le compte qu’elle a créé.",
		"error.link_used.reset":       "Ce lien a déjà servi. Si vous devez encore changer votre mot de passe, demandez un nouveau lien.",
		"error.step_expired.title":    "Cette connexion a expiré",
		"error.step_expired.text":     "Cette étape de connexion a expiré ou a déjà reçu une réponse. Connectez-vous à nouveau.",
		"error.conflict.title":        "Cette invitation ne peut pas être acceptée",
		"error.user_exists":           "Un compte avec cette adresse e-mail existe déjà. Connectez-vous avec lui.",
		"error.gone":                  "Un élément de l’invitation n’existe plus. Demandez une nouvelle invitation.",
		"error.too_many.title":        "Veuillez patienter",
		"error.unavailable.title":     "Service momentanément indisponible",
		"error.unavailable.text":      "Le service est momentanément indisponible. Réessayez dans un instant.",
		"error.internal.title":        "Une erreur est survenue",
		"error.internal.text":         "Une erreur inattendue est survenue. Réessayez plus tard.",
		"error.bad_form.title":        "Ce formulaire est illisible",
		"error.bad_form.text":         "Envoyez à nouveau le formulaire depuis sa page.",
	},
	"nl": {
		"lang.name":                   "Nederlands",
		"brand":                       "Guichet",
		"field.first_name":            "Voornaam",
		"field.last_name":             "Achternaam",
		"field.password":              "Wachtwoord",
		"field.confirm":               "Bevestig het wachtwoord",
		"field.new_password":          "Nieuw wachtwoord",
		"field.email":                 "E-mailadres",
		"field.login":                 "E-mailadres of gebruikersnaam",
		"field.organization":          "Organisatiecode",
		"hint.organization":           "Alleen als u aanmeldt met een gebruikersnaam.",
		"hint.password":               "Minstens 10 tekens.",
		"hint.pin":                    "Een pincode van 6 cijfers voor een account met gebruikersnaam; anders minstens 10 tekens.",
		"err.required":                "Verplicht.",
		"err.control":                 "Mag geen stuurtekens bevatten.",
		"err.email":                   "Vul een e-mailadres in, zoals naam@voorbeeld.nl.",
		"err.pin":                     "Moet een pincode van 6 cijfers zijn.",
		"err.password_length":         "Moet 10 tot 1024 tekens lang zijn.",
		"err.password_login":          "Mag niet uw login zijn.",
		"err.password_common":         "Te gangbaar; kies een moeilijker te raden wachtwoord.",
		"err.password_same":           "Moet verschillen van uw huidige wachtwoord.",
		"err.max":                     "Hoogstens %d tekens.",
		"err.confirm":                 "De twee wachtwoorden verschillen.",
		"err.form":                    "Sommige velden vragen uw aandacht.",
		"err.csrf":                    "Dit formulier is verlopen of komt niet van deze site. Controleer de velden en verstuur het opnieuw.",
		"err.credentials":             "De login of het wachtwoord is onjuist.",
		"err.locked":                  "Te veel mislukte pogingen. Probeer het later opnieuw (over ongeveer %d minuten).",
		"err.inactive":                "Dit account is gedeactiveerd. Vraag het aan de beheerder van uw organisatie.",
		"err.service_user":            "Servicegebruikers kunnen hier niet aanmelden.",
		"err.step_unsupported":        "Dit account vraagt een aanmeldstap die deze pagina nog niet kan. Meld u aan in de app.",
		"err.too_many":                "Te veel aanvragen. Probeer het later opnieuw.",
		"invite.title":                "Aanvaard uw uitnodiging",
		"invite.intro":                "U bent uitgenodigd om lid te worden van %s.",
		"invite.email":                "Uw login wordt",
		"invite.role":                 "Rol",
		"invite.signed_in_as":         "U bent aangemeld als %s. Als u deze uitnodiging aanvaardt, wordt u van dat account afgemeld.",
		"invite.submit":               "Mijn account aanmaken",
		"email.title":                 "Bevestig uw nieuw e-mailadres",
		"email.intro":                 "Druk op de knop om dit adres uw e-mailadres en login te maken. Tot dan blijft uw vorige adres uw login.",
		"email.submit":                "Dit adres bevestigen",
		"email.done.title":            "E-mailadres gewijzigd",
		"email.done.text":             "Uw login is nu %s.",
		"reset.title":                 "Kies een nieuw wachtwoord",
		"reset.intro":                 "Kies het nieuwe wachtwoord van uw account. Alle sessies en alle API-sleutels van het account worden beëindigd.",
		"reset.submit":                "Mijn wachtwoord wijzigen",
		"reset.done.title":            "Wachtwoord gewijzigd",
		"reset.done.text":             "Uw wachtwoord is gewijzigd. Meld u aan met uw nieuwe wachtwoord.",
		"forgot.title":                "Wachtwoord vergeten?",
		"forgot.intro":                "Vul het e-mailadres van uw account in; we sturen er een link naartoe om een nieuw wachtwoord te kiezen.",
		"forgot.submit":               "Stuur mij een link",
		"forgot.done.title":           "Bekijk uw e-mail",
		"forgot.done.text":            "Als dit adres een account heeft, is een link om een nieuw wachtwoord te kiezen onderweg. Hij werkt één keer, gedurende een uur.",
		"login.title":                 "Aanmelden",
		"login.submit":                "Aanmelden",
		"login.forgot":                "Wachtwoord vergeten?",
		"step.mfa.title":              "Verificatie in twee stappen",
		"step.mfa.intro":              "Voer de 6-cijferige code van uw authenticator-app in, of een van uw herstelcodes.",
		"step.mfa.submit":             "Verifiëren en aanmelden",
		"step.email_proof.title":      "Bevestig uw adres",
		"step.email_proof.intro":      "We hebben een 6-cijferige code naar uw e-mailadres gestuurd. Voer ze in om te bewijzen dat het adres van u is.",
		"step.email_proof.submit":     "Bevestigen en aanmelden",
		"field.code":                  "Code",
		"err.code":                    "Deze code is fout of werd al gebruikt.",
		"step.password_change.title":  "Kies een nieuw wachtwoord",
		"step.password_change.intro":  "U moet een nieuw wachtwoord kiezen voordat u verdergaat.",
		"step.password_change.submit": "Wijzigen en aanmelden",
		"signed_in.title":             "U bent aangemeld",
		"signed_in.text":              "U bent aangemeld als %s.",
		"signed_in.continue":          "Verder naar de app",
		"link.sign_in":                "Aanmelden",
		"link.forgot":                 "Een nieuwe link aanvragen",
		"link.login_again":            "Opnieuw aanmelden",
		"error.invalid_link.title":    "Deze link werkt niet",
		"error.invalid_link.text":     "Deze link is onbekend, of werd vervangen door een nieuwere of ingetrokken. Controleer of u hem volledig hebt gekopieerd, of vraag een nieuwe aan.",
		"error.link_expired.title":    "Deze link is verlopen",
		"error.link_expired.invite":   "Deze uitnodiging is verlopen. Vraag de persoon die u uitnodigde om een nieuwe.",
		"error.link_expired.reset":    "Deze link is verlopen. Vraag een nieuwe aan.",
		"error.link_used.title":       "Deze link werd al gebruikt",
		"error.link_used.invite":      "Deze uitnodiging werd al aanvaard. Meld u aan met het account dat ze aanmaakte.",
		"error.link_used.reset":       "Deze link werd al gebruikt. Moet u uw wachtwoord nog wijzigen, vraag dan een nieuwe link aan.",
		"error.step_expired.title":    "Deze aanmelding is verlopen",
		"error.step_expired.text":     "Deze aanmeldstap is verlopen of al beantwoord. Meld u opnieuw aan.",
		"error.conflict.title":        "Deze uitnodiging kan niet aanvaard worden",
		"error.user_exists":           "Er bestaat al een account met dit e-mailadres. Meld u daarmee aan.",
		"error.gone":                  "Iets waarnaar de uitnodiging verwijst, bestaat niet meer. Vraag een nieuwe uitnodiging.",
		"error.too_many.title":        "Even geduld",
		"error.unavailable.title":     "Tijdelijk niet beschikbaar",
		"error.unavailable.text":      "De dienst is tijdelijk niet beschikbaar. Probeer het zo meteen opnieuw.",
		"error.internal.title":        "Er ging iets mis",
		"error.internal.text":         "Er trad een onverwachte fout op. Probeer het later opnieuw.",
		"error.bad_form.title":        "Dit formulier kon niet gelezen worden",
		"error.bad_form.text":         "Verstuur het formulier opnieuw vanaf zijn pagina.",
	},
}
