package guichet

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

func TestCdkNag(t *testing.T) {
	for _, s := range []struct {
		name string
		s    *synthesized
	}{{"production with mail", prod}, {"throw-away without mail", dev}} {
		ann := assertions.Annotations_FromStack(s.s.stack)
		rule := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
		for _, level := range []struct {
			name  string
			found func() []any
		}{
			{"error", func() []any { return toAny(ann.FindError(jsii.String("*"), rule)) }},
			{"warning", func() []any { return toAny(ann.FindWarning(jsii.String("*"), rule)) }},
		} {
			t.Run(fmt.Sprintf("the %s stack has no unsuppressed AwsSolutions %s", s.name, level.name), func(t *testing.T) {
				for _, f := range level.found() {
					b, _ := json.Marshal(f)
					t.Errorf("%s", b)
				}
			})
		}
	}
}

func toAny[T any](v *[]T) []any {
	var out []any
	if v == nil {
		return nil
	}
	for _, e := range *v {
		out = append(out, e)
	}
	return out
}
