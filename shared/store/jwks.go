package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// JWKS is the public key set verifiers of Guichet's JWTs read (the
// authorizer, the JWKS route): written by whoever rotates the signing
// keys, never holding a private key.
type JWKS struct {
	key
	// Keys is the JSON of the JWK set (RFC 7517).
	Keys    string    `dynamodbav:"keys"`
	Updated time.Time `dynamodbav:"updated"`
}

var jwksKey = key{"JWKS", "JWKS"}

// PutJWKS writes the public key set, the JSON of a JWK set.
func (s *Store) PutJWKS(ctx context.Context, keys []byte, now time.Time) error {
	item, err := marshal(JWKS{key: jwksKey, Keys: string(keys), Updated: now.UTC()})
	if err != nil {
		return fmt.Errorf("put jwks: %w", err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item}); err != nil {
		return fmt.Errorf("put jwks: %w", err)
	}
	return nil
}

// GetJWKS reads the public key set; ErrNotFound before the first key set.
func (s *Store) GetJWKS(ctx context.Context) (JWKS, error) {
	return getAs[JWKS](ctx, s, jwksKey, "get jwks")
}
