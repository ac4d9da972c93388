package guichet

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/guichet/guichet/shared/route"
)

func TestExports(t *testing.T) {
	for _, s := range []struct {
		name   string
		s      *synthesized
		policy string
	}{{"production", prod, "Retain"}, {"throw-away", dev, "Delete"}} {
		b, ok := s.s.resources("AWS::S3::Bucket")[ExportBucketLogicalID]
		if !ok {
			t.Fatalf("no bucket %s in the %s stack", ExportBucketLogicalID, s.name)
		}
		p := props(b)
		t.Run("the "+s.name+" bucket is private, encrypted and TLS only", func(t *testing.T) {
			pab, _ := p["PublicAccessBlockConfiguration"].(map[string]any)
			for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
				if pab[k] != true {
					t.Errorf("%s = %v", k, pab[k])
				}
			}
			enc, _ := json.Marshal(p["BucketEncryption"])
			if !strings.Contains(string(enc), `"SSEAlgorithm":"AES256"`) {
				t.Errorf("BucketEncryption = %s", enc)
			}
			if !denesInsecureTransport(s.s.resources("AWS::S3::BucketPolicy"), "Bucket", ExportBucketLogicalID) {
				t.Error("the bucket's policy does not deny requests without TLS")
			}
		})
		t.Run("the "+s.name+" bucket expires objects after a day", func(t *testing.T) {
			rules, _ := p["LifecycleConfiguration"].(map[string]any)["Rules"].([]any)
			if len(rules) != 1 {
				t.Fatalf("rules %v", rules)
			}
			r := rules[0].(map[string]any)
			if r["ExpirationInDays"] != float64(1) || r["Status"] != "Enabled" || r["Prefix"] != nil {
				t.Errorf("rule %v, want every object expiring after 1 day", r)
			}
		})
		t.Run("the "+s.name+" bucket is kept per the production flag", func(t *testing.T) {
			if b["DeletionPolicy"] != s.policy {
				t.Errorf("DeletionPolicy = %v, want %s", b["DeletionPolicy"], s.policy)
			}
		})
		fns := s.s.resources("AWS::Lambda::Function")
		stmts := s.s.roleStatements(t)
		for _, name := range route.Functions() {
			exports := name == route.Bulk
			t.Run(name+" in the "+s.name+" stack is given the bucket only if it serves the export", func(t *testing.T) {
				if got := exportFunction(); got != route.Bulk {
					t.Fatalf("the export is served by %q, this test expects %q", got, route.Bulk)
				}
				vars, _ := props(fns[FunctionLogicalID(name)])["Environment"].(map[string]any)["Variables"].(map[string]any)
				v, has := vars[exportBucketEnv]
				if has != exports || (has && ref(v) != ExportBucketLogicalID) {
					t.Errorf("%s = %v", exportBucketEnv, v)
				}
				var got []string
				for _, st := range stmts[name] {
					for _, a := range st.Actions {
						if !strings.HasPrefix(a, "s3:") {
							continue
						}
						got = append(got, a)
						b, _ := json.Marshal(st.Resources)
						if want := `[{"Fn::Join":["",[{"Fn::GetAtt":["` + ExportBucketLogicalID + `","Arn"]},"/exports/*"]]}]`; string(b) != want {
							t.Errorf("%s on %s, want %s", a, b, want)
						}
					}
				}
				slices.Sort(got)
				var want []string
				if exports {
					want = []string{"s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"}
				}
				if !slices.Equal(got, want) {
					t.Errorf("s3 actions %v, want %v", got, want)
				}
			})
		}
	}
}
