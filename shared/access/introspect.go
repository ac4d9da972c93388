package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// IntrospectPath is where, under the issuer, Guichet answers RFC 7662
// introspection.
const IntrospectPath = "/oauth/introspect"

// An Introspector asks the issuer whether a token (a JWT access token or
// an API key) is active, as the strict authorizer decides it: a revoked
// session or key, or a deactivated user, is inactive at once. Each call is
// one request to the issuer, authenticated as a confidential client;
// nothing is cached. It is safe for concurrent use.
type Introspector struct {
	issuer, endpoint string
	id, secret       string
	client           *http.Client
}

// NewIntrospector returns an introspector asking issuer (https, or http on
// a loopback address) as the confidential client clientID. WithClock does
// not apply.
func NewIntrospector(issuer, clientID, clientSecret string, opts ...Option) (*Introspector, error) {
	if err := checkIssuer(issuer); err != nil {
		return nil, err
	}
	if clientID == "" || clientSecret == "" {
		return nil, errors.New("access: introspector without a client id and secret")
	}
	s := newSettings(opts)
	return &Introspector{issuer: issuer, endpoint: strings.TrimSuffix(issuer, "/") + IntrospectPath,
		id: clientID, secret: clientSecret, client: s.client}, nil
}

// maxIntrospection is the largest answer an Introspector reads.
const maxIntrospection = 1 << 20

// Introspect returns the principal of token and whether it is active. An
// inactive token is no error: active is false and the principal empty.
// An error is a failed request, a refused client (wrong secret, or a
// public client) or an answer this package cannot read.
func (in *Introspector) Introspect(ctx context.Context, token string) (p Principal, active bool, err error) {
	form := url.Values{"token": {token}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return Principal{}, false, fmt.Errorf("access: introspect: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 §2.3.1: each part form-encoded before Basic's base64.
	req.SetBasicAuth(url.QueryEscape(in.id), url.QueryEscape(in.secret))
	res, err := in.client.Do(req)
	if err != nil {
		return Principal{}, false, fmt.Errorf("access: introspect: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(io.LimitReader(res.Body, maxIntrospection)).Decode(&e)
		return Principal{}, false, fmt.Errorf("access: introspect: %s answered %s %s", in.endpoint, res.Status, e.Error)
	}
	var ans struct {
		Active    bool       `json:"active"`
		Issuer    string     `json:"iss"`
		Principal *Principal `json:"principal"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, maxIntrospection)).Decode(&ans); err != nil {
		return Principal{}, false, fmt.Errorf("access: introspect: %w", err)
	}
	switch {
	case !ans.Active:
		return Principal{}, false, nil
	case ans.Issuer != "" && ans.Issuer != in.issuer:
		return Principal{}, false, fmt.Errorf("access: introspect: iss %q, want %q", ans.Issuer, in.issuer)
	case ans.Principal == nil:
		return Principal{}, false, errors.New("access: introspect: an active token without a principal")
	}
	if err := ans.Principal.check(); err != nil {
		return Principal{}, false, fmt.Errorf("access: introspect: %w", err)
	}
	return *ans.Principal, true, nil
}
