package oidc_test

import (
	"context"
	"testing"

	"golang.org/x/oauth2"

	"github.com/guichet/guichet/shared/route"
)

// exchangeBudget is the DynamoDB calls of an authorization_code exchange:
// the auth request (GetItem), the user and its organization (one
// BatchGetItem), the role's grant (none for a built-in role), and one
// TransactWriteItems (code marked exchanged, session, tokens, the user
// still active in its role).
const exchangeBudget = 3

func TestCodeExchangeKeepsItsDynamoDBBudget(t *testing.T) {
	t.Parallel()
	p := newRP(t)
	v := oauth2.GenerateVerifier()
	q := p.signIn(t, p.spa, oauth2.S256ChallengeOption(v))
	p.e.ResetCounters()
	if _, err := p.spa.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(v)); err != nil {
		t.Fatal(err)
	}
	c := p.e.Counters[route.Auth]
	if n := c.Calls(); n != exchangeBudget {
		t.Fatalf("the exchange made %d DynamoDB calls (%v), want %d", n, c.Operations(), exchangeBudget)
	}
}

// BenchmarkCodeExchange is one authorization code flow's server side per
// op: the authorization request, Complete, and the code's exchange for
// tokens and an id_token, through the local gateway over HTTP.
func BenchmarkCodeExchange(b *testing.B) {
	p := newRP(b)
	ctx := context.Background()
	p.e.ResetCounters()
	b.ResetTimer()
	for b.Loop() {
		v := oauth2.GenerateVerifier()
		q := p.signIn(b, p.spa, oauth2.S256ChallengeOption(v))
		if _, err := p.spa.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(v)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(p.e.Calls())/float64(b.N), "dynamodb-calls/op")
}
