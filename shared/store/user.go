package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// User kinds.
const (
	Person  = "person"
	Service = "service"
)

// User statuses.
const (
	Active   = "active"
	Inactive = "inactive"
)

// User is a person or a service user of an organization.
type User struct {
	key
	Org       string `dynamodbav:"org"`
	ID        string `dynamodbav:"id"`
	Kind      string `dynamodbav:"kind"`
	Email     string `dynamodbav:"email,omitempty"`
	Username  string `dynamodbav:"username,omitempty"`
	OrgCode   string `dynamodbav:"org_code,omitempty"`
	FirstName string `dynamodbav:"first_name"`
	LastName  string `dynamodbav:"last_name"`
	Language  string `dynamodbav:"language"`
	Role      string `dynamodbav:"role"`
	Status    string `dynamodbav:"status"`
	// PasswordHash is a PHC string; never returned by the API.
	PasswordHash          string    `dynamodbav:"password_hash,omitempty"`
	RequirePasswordChange bool      `dynamodbav:"require_password_change,omitempty"`
	Created               time.Time `dynamodbav:"created"`
	Updated               time.Time `dynamodbav:"updated"`
}

func userKey(org, id string) key { return key{"ORG#" + org, "USER#" + id} }

// LoginKey is the unique login name of a user: the normalized e-mail, or
// the organization code and username.
func (u User) LoginKey() string {
	if u.Email != "" {
		return EmailLogin(u.Email)
	}
	return UsernameLogin(u.OrgCode, u.Username)
}

// EmailLogin is the login key of an e-mail address.
func EmailLogin(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// UsernameLogin is the login key of a username within an organization.
func UsernameLogin(orgCode, username string) string {
	return strings.ToLower(orgCode) + "#" + strings.ToLower(username)
}

// GetUser reads a user of an organization; ErrNotFound when absent.
func (s *Store) GetUser(ctx context.Context, org, id string) (User, error) {
	var u User
	if err := s.get(ctx, userKey(org, id), &u); err != nil {
		return u, fmt.Errorf("get user: %w", err)
	}
	return u, nil
}

// puts returns transaction puts of items.
func (s *Store) puts(mustBeNew bool, vs ...any) ([]types.TransactWriteItem, error) {
	out := make([]types.TransactWriteItem, 0, len(vs))
	for _, v := range vs {
		it, err := s.put(v, mustBeNew)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}
