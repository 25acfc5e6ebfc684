package httpapi

import (
	"testing"
	"time"

	"github.com/onboard-dev/onboard/internal/domain"
	"github.com/onboard-dev/onboard/internal/things"
)

// TestThingsViewsMatchSchemas checks the views of products and things
// against the schemas of paths-things.json, unassigned and active.
func TestThingsViewsMatchSchemas(t *testing.T) {
	c := schemaChecker{loadSpec(t)}
	now := time.Date(2026, 3, 2, 9, 15, 4, 123456000, time.UTC)
	free := domain.Product{ID: "p1", SerialNumber: "HP-1", Model: "X200", State: domain.ProductUnassigned, CreatedAt: now, UpdatedAt: now}
	active := free
	active.State, active.ThingID, active.AccountID, active.LocationID, active.Name, active.ActivatedAt =
		domain.ProductActive, "t1", "a1", "l1", "Cellar", &now
	active.TokenHash, active.Metadata = []byte{1}, map[string]string{"batch": "B1"}
	next := "HP-1"
	for _, tc := range []struct {
		name, schema string
		view         any
	}{
		{"unassigned product", "Product", productView(free)},
		{"active product", "Product", productView(active)},
		{"product list", "ProductList", ProductList{Products: []Product{productView(free)}, Next: &next}},
		{"last product page", "ProductList", ProductList{Products: []Product{}}},
		{"thing", "Thing", thingView(active)},
		{"things", "ThingList", ThingList{Things: []Thing{thingView(active)}}},
		{"no things", "ThingList", ThingList{Things: []Thing{}}},
		{"import report", "ProductImportReport", ProductImportReport{Summary: ProductImportSummary{Created: 1, Rejected: 1},
			Rejected: []ProductImportLine{{Line: 2, Status: "rejected", Error: "model: is required"}}}},
		{"import line", "ProductImportLine", things.ImportResult{Line: 1, Status: "created", SerialNumber: "HP-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) { c.checkValue(t, tc.schema, tc.view) })
	}
}
