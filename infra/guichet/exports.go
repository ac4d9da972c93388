package guichet

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/guichet/guichet/shared/route"
)

const (
	// ExportBucketLogicalID is fixed so that suppressions and docs can name
	// the bucket.
	ExportBucketLogicalID = "ExportBucket"
	// exportPrefix holds every export object; the exporting function may
	// write and read under it only.
	exportPrefix = "exports/"
	// exportDays is how long an export object lives: its presigned link
	// expires well before.
	exportDays = 1
)

// exportFunction is the function serving the export route: the only one
// given the bucket.
func exportFunction() string {
	for _, r := range route.All() {
		if r.Operation == route.OpExportUsers {
			return r.Function
		}
	}
	return ""
}

// newExportBucket makes the private bucket of large exports: no public
// access, S3-managed encryption, TLS only, objects expire after exportDays.
func newExportBucket(stack constructs.Construct, production bool) awss3.Bucket {
	b := awss3.NewBucket(stack, jsii.String(ExportBucketLogicalID), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("ExpireExports"),
			Expiration:                          awscdk.Duration_Days(jsii.Number(exportDays)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(exportDays)),
		}},
		RemovalPolicy: removal(production),
	})
	b.Node().DefaultChild().(awss3.CfnBucket).OverrideLogicalId(jsii.String(ExportBucketLogicalID))
	suppress(b, "AwsSolutions-S1", "Objects live one day and are reached only through links the exporting function presigns after checking users:read; every export is in the organization's audit trail")
	return b
}

// grantExports lets fn write export objects (in one put or in parts, which
// it may abort) and presign their GET links (a presigned GET is checked
// against the signer's s3:GetObject).
func (s *Guichet) grantExports(fn awslambda.Function) {
	objects := s.Exports.ArnForObjects(jsii.String(exportPrefix + "*"))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("Exports"),
		Actions:   jsii.Strings("s3:PutObject", "s3:AbortMultipartUpload", "s3:GetObject"),
		Resources: &[]*string{objects},
	}))
	suppress(fn.Role(), "AwsSolutions-IAM5", "Export objects have generated names under exports/: the function may write and read that prefix only",
		"Resource::<"+ExportBucketLogicalID+".Arn>/"+exportPrefix+"*")
}
