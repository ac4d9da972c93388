package store

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/guichet/guichet/shared/config"
)

// ClientConfig says how to reach DynamoDB.
type ClientConfig struct {
	// Endpoint, when set, is a local DynamoDB (embedded minidyn, DynamoDB
	// Local); static dummy credentials are used unless the environment has
	// real ones. Empty means AWS.
	Endpoint string
	// Counter, when set, counts every call by operation.
	Counter *Counter
	// MaxBackoff bounds the wait between retries (see config.AWS).
	MaxBackoff time.Duration
	// Load loads the SDK configuration; config.AWS when nil.
	Load config.AWSLoader
}

// NewClient returns a DynamoDB client.
func NewClient(ctx context.Context, c ClientConfig) (*dynamodb.Client, error) {
	load := c.Load
	if load == nil {
		load = config.AWS
	}
	cfg, err := load(ctx, c.Endpoint, c.MaxBackoff)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
			o.DisableValidateResponseChecksum = true
		}
		if c.Counter != nil {
			o.APIOptions = append(o.APIOptions, c.Counter.register)
		}
	}), nil
}

// Counter counts DynamoDB calls by operation (once per call, not per retry).
// It is safe for concurrent use.
type Counter struct {
	mu     sync.Mutex
	counts map[string]int
}

// Calls returns the number of calls made since the last Reset.
func (c *Counter) Calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.counts {
		n += v
	}
	return n
}

// Count returns the number of calls of one operation ("UpdateItem") made
// since the last Reset.
func (c *Counter) Count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[op]
}

// Operations returns the operations called since the last Reset, sorted.
func (c *Counter) Operations() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.counts))
	for op := range c.counts {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}

// Reset sets every count to zero.
func (c *Counter) Reset() {
	c.mu.Lock()
	c.counts = nil
	c.mu.Unlock()
}

func (c *Counter) register(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("guichet/count",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.mu.Lock()
			if c.counts == nil {
				c.counts = map[string]int{}
			}
			c.counts[middleware.GetOperationName(ctx)]++
			c.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}
