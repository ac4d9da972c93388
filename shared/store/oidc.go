package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// AuthRequest is an OpenID Connect authorization request, from the
// authorization endpoint to the code's exchange: what the client asked,
// then who signed in (Complete), then the session its code opened
// (exchange). Its code is stored as a hash only.
type AuthRequest struct {
	key
	ID            string    `dynamodbav:"id"`
	Client        string    `dynamodbav:"client"`
	RedirectURI   string    `dynamodbav:"redirect_uri"`
	Scopes        Perms     `dynamodbav:"scopes"`
	State         string    `dynamodbav:"state,omitempty"`
	Nonce         string    `dynamodbav:"nonce,omitempty"`
	CodeChallenge string    `dynamodbav:"code_challenge,omitempty"`
	UILocales     string    `dynamodbav:"ui_locales,omitempty"`
	Prompt        string    `dynamodbav:"prompt,omitempty"`
	LoginHint     string    `dynamodbav:"login_hint,omitempty"`
	MaxAge        int       `dynamodbav:"max_age,omitempty"`
	Created       time.Time `dynamodbav:"created"`
	Expires       int64     `dynamodbav:"expires"`
	// Set when the person has signed in (CompleteAuthRequest).
	Completed    int64  `dynamodbav:"completed,omitempty"`
	CodeHash     string `dynamodbav:"code_hash,omitempty"`
	Org          string `dynamodbav:"org,omitempty"`
	User         string `dynamodbav:"user,omitempty"`
	Person       string `dynamodbav:"person,omitempty"`
	LoginSession string `dynamodbav:"login_session,omitempty"`
	AuthTime     int64  `dynamodbav:"auth_time,omitempty"`
	AMR          Perms  `dynamodbav:"amr,omitempty"`
	// Set when the code was exchanged: the session it opened, ended if the
	// code is presented again.
	Exchanged int64  `dynamodbav:"exchanged,omitempty"`
	Session   string `dynamodbav:"session,omitempty"`
}

func authRequestKey(id string) key { return key{"OIDCREQ#" + id, "OIDCREQ"} }

// PutAuthRequest writes a new authorization request (IDTaken if its id
// exists).
func (s *Store) PutAuthRequest(ctx context.Context, r AuthRequest) error {
	r.key = authRequestKey(r.ID)
	if err := s.transact(ctx, s.tx().put(IDTaken, r)); err != nil {
		return fmt.Errorf("put auth request: %w", err)
	}
	return nil
}

// GetAuthRequest reads an authorization request; ErrNotFound when absent
// (expired requests may linger until the TTL removes them: check Expires).
func (s *Store) GetAuthRequest(ctx context.Context, id string) (AuthRequest, error) {
	return getAs[AuthRequest](ctx, s, authRequestKey(id), "get auth request")
}

// CompleteAuthRequest records who signed in for r and its code's hash, once:
// a Conflict on LinkUsed when r was completed meanwhile or is gone.
func (s *Store) CompleteAuthRequest(ctx context.Context, r AuthRequest) error {
	up := types.TransactWriteItem{Update: &types.Update{
		TableName: &s.table, Key: authRequestKey(r.ID).av(),
		ConditionExpression: aws.String("attribute_exists(pk) AND attribute_not_exists(completed)"),
		UpdateExpression: aws.String("SET completed = :completed, code_hash = :code, org = :org, #u = :user, person = :person, " +
			"login_session = :login, auth_time = :auth_time, amr = :amr"),
		ExpressionAttributeNames: map[string]string{"#u": "user"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":completed": num(r.Completed), ":code": str(r.CodeHash), ":org": str(r.Org), ":user": str(r.User),
			":person": str(r.Person), ":login": str(r.LoginSession), ":auth_time": num(r.AuthTime),
			":amr": str(strings.Join(r.AMR, " ")),
		},
	}}
	if err := s.transact(ctx, s.tx().add(LinkUsed, up)); err != nil {
		return fmt.Errorf("complete auth request: %w", err)
	}
	return nil
}

// ExchangeCode marks r's code exchanged and writes the session it opens, in
// one transaction: a Conflict on LinkUsed when the code was exchanged
// meanwhile (exactly one exchange wins), on UserChanged when the user is
// no longer active in its role.
func (s *Store) ExchangeCode(ctx context.Context, r AuthRequest, at time.Time, sess Session, access, refresh Credential) error {
	up := types.TransactWriteItem{Update: &types.Update{
		TableName: &s.table, Key: authRequestKey(r.ID).av(),
		ConditionExpression:      aws.String("code_hash = :code AND attribute_not_exists(exchanged)"),
		UpdateExpression:         aws.String("SET exchanged = :at, #s = :session"),
		ExpressionAttributeNames: map[string]string{"#s": "session"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":code": str(r.CodeHash), ":at": num(at.Unix()), ":session": str(sess.ID),
		},
	}}
	t := s.tx().add(LinkUsed, up).session(sess, access, refresh).add(UserChanged, s.activeUser(access.Org, access.User, access.Role))
	if err := s.transact(ctx, t); err != nil {
		return fmt.Errorf("exchange code: %w", err)
	}
	return nil
}

// DeleteAccessToken deletes the access token credential of hash (RFC 7009
// revocation): that token stops working, its session goes on. One already
// gone, or of another kind, is left alone (ErrNotFound).
func (s *Store) DeleteAccessToken(ctx context.Context, hash string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.table, Key: credKey(hash).av(),
		ConditionExpression:       aws.String("#k = :access"),
		ExpressionAttributeNames:  map[string]string{"#k": "kind"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":access": str(AccessToken)},
	})
	if conditionFailed(err) {
		return fmt.Errorf("delete access token: %w", ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("delete access token: %w", unavailable(err))
	}
	return nil
}
