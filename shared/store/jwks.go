package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
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

// PutJWKS writes the public key set, the JSON of a JWK set. It is an
// UpdateItem, which the jobs function (the rotation) already may call.
func (s *Store) PutJWKS(ctx context.Context, keys []byte, now time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: jwksKey.av(),
		UpdateExpression: aws.String("SET #k = :k, updated = :u"),
		// "keys" is a reserved word.
		ExpressionAttributeNames: map[string]string{"#k": "keys"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":k": str(string(keys)), ":u": str(now.UTC().Format(time.RFC3339Nano)),
		},
	})
	if err != nil {
		return fmt.Errorf("put jwks: %w", err)
	}
	return nil
}

// GetJWKS reads the public key set; ErrNotFound before the first key set.
func (s *Store) GetJWKS(ctx context.Context) (JWKS, error) {
	return getAs[JWKS](ctx, s, jwksKey, "get jwks")
}
