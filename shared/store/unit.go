package store

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Unit is a company, establishment, site or structure level of an
// organization. Refs counts the users assigned to it: it is changed in the
// same transaction as those users, and a unit is deleted only while it is 0.
type Unit struct {
	key
	Org       string   `dynamodbav:"org"`
	ID        string   `dynamodbav:"id"`
	Name      string   `dynamodbav:"name"`
	Kind      string   `dynamodbav:"kind"`
	Parent    string   `dynamodbav:"parent,omitempty"`
	Address   string   `dynamodbav:"address,omitempty"`
	Latitude  *float64 `dynamodbav:"lat,omitempty"`
	Longitude *float64 `dynamodbav:"lng,omitempty"`
	Refs      int      `dynamodbav:"refs"`
}

func unitKey(org, id string) key { return key{"ORG#" + org, "UNIT#" + id} }

// refs returns the transaction item adding delta to the reference count of
// an item that must exist (a unit or a custom role): assigning a user to a
// deleted unit or role fails the whole transaction.
func (s *Store) refs(k key, delta int) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName:           &s.table,
		Key:                 k.av(),
		ConditionExpression: aws.String("attribute_exists(pk)"),
		UpdateExpression:    aws.String("ADD refs :d"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":d": &types.AttributeValueMemberN{Value: fmt.Sprint(delta)},
		},
	}}
}
