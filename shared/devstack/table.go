package devstack

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ScanTable returns every item of table, all the pages of a Scan: for
// tests that look at the whole table.
func ScanTable(ctx context.Context, db *dynamodb.Client, table string) ([]map[string]types.AttributeValue, error) {
	var items []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: &table})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		items = append(items, page.Items...)
	}
	return items, nil
}

// DumpTable returns every item of table as JSON, sorted: compare two dumps
// to check that a refused request wrote nothing.
func DumpTable(ctx context.Context, db *dynamodb.Client, table string) ([]string, error) {
	items, err := ScanTable(ctx, db, table)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(items))
	for i, item := range items {
		b, err := json.Marshal(item)
		if err != nil {
			return nil, err
		}
		out[i] = string(b)
	}
	slices.Sort(out)
	return out, nil
}
