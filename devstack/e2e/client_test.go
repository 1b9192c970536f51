package e2e

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/client"
	"github.com/consentry/consentry/devkit/apispec"
	"github.com/getkin/kin-openapi/openapi3"
)

// TestClientAgainstTheEmbeddedStack makes the client's examples' calls against the real
// services, through the OpenAPI-validating transport TestMain installs: what the client
// sends and what it reads are what the documents say.
func TestClientAgainstTheEmbeddedStack(t *testing.T) {
	s := startStack(t, "")
	cfg := client.Config{IngestURL: s.URL("consent-ingest"), AuditURL: s.URL("audit-sink"),
		UnsubscribeURL: s.URL("unsubscribe-handler"), FanoutURL: s.URL("vendor-fanout"), HTTPClient: http.DefaultClient}
	product := cfg
	product.APIKey = s.APIKey()
	operator := cfg
	operator.APIKey = s.OperatorKey()
	c, op := client.New(product), client.New(operator)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	accepted, err := c.SubmitConsent(ctx, client.Consent{
		Tenant: "consumer", SubjectID: "cl_1", Identifiers: &client.Identifiers{Email: "cl1@example.com"},
		OccurredAt: time.Now().Add(-time.Minute), Source: "cmp", PolicyVersion: "2025-04-09",
		Purposes: map[string]string{"analytics": client.Granted, "advertising": client.Denied},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(accepted.EventIDs) != 1 {
		t.Fatalf("event ids %v", accepted.EventIDs)
	}
	eventually(t, "the consent in the subject's current state", 60*time.Second, func() bool {
		sc, err := op.SubjectConsent(ctx, "consumer", "cl_1")
		if err != nil {
			t.Fatal(err)
		}
		return sc.Purposes["analytics"].EventID == accepted.EventIDs[0] && sc.Purposes["advertising"].Decision == client.Denied
	})

	req, err := c.SubmitPrivacyRequest(ctx, client.PrivacyRequest{Tenant: "consumer", SubjectID: "cl_1", Type: "access",
		Reason: "user_request", Verified: true}, client.WithIdempotencyKey("cl_1-access"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.SubmitPrivacyRequest(ctx, client.PrivacyRequest{Tenant: "consumer", SubjectID: "cl_1", Type: "access",
		Reason: "user_request", Verified: true}, client.WithIdempotencyKey("cl_1-access"))
	if err != nil || again.RequestID != req.RequestID {
		t.Fatalf("the same key again: %+v %v, want request %s", again, err, req.RequestID)
	}
	eventually(t, "the request's status in audit-sink", 60*time.Second, func() bool {
		st, err := c.PrivacyRequestStatus(ctx, req.RequestID)
		if client.IsCode(err, "not_found") { // audit-sink has not read it yet
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		return st.RequestID == req.RequestID && len(st.Transitions) > 0
	})

	sup, err := c.CheckSuppression(ctx, "nobody-cl@example.com")
	if err != nil || sup.Suppressed {
		t.Fatalf("an unknown address: %+v %v", sup, err)
	}
	link, err := c.CreateUnsubscribeLink(ctx, client.UnsubscribeLinkInput{Tenant: "consumer", SubjectID: "cl_1", Email: "cl1@example.com"})
	if err != nil || !strings.HasPrefix(link.URL, s.URL("unsubscribe-handler")+"/u/") {
		t.Fatalf("link %+v %v", link, err)
	}
	_, err = c.SubjectConsent(ctx, "consumer", "cl_1")
	if !client.IsCode(err, "forbidden") {
		t.Fatalf("a product key reading a subject's consent: %v, want forbidden", err)
	}

	// Each service serves its own document, without a key, as the repository has it.
	for _, name := range apispec.Services {
		served, err := client.New(client.Config{HTTPClient: http.DefaultClient}).Do(ctx,
			client.Call{Method: "GET", Base: s.URL(name), Route: "/openapi.yaml", Path: "/openapi.yaml"})
		if err != nil {
			t.Fatal(err)
		}
		doc, err := apispec.Load(name, served)
		if err != nil {
			t.Fatal(err)
		}
		if doc.T.Info.Title != "Consentry "+name {
			t.Errorf("%s serves the document of %q", name, doc.T.Info.Title)
		}
	}
}

// TestClientStructsMatchTheOpenAPIDocuments holds each struct of the client to the schema
// it follows: every JSON field is a property of the schema with a matching type, and
// every property the schema requires is a field.
func TestClientStructsMatchTheOpenAPIDocuments(t *testing.T) {
	docs, err := apispec.LoadRepo(".")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*openapi3.T{}
	for _, d := range docs {
		byName[d.Name] = d.T
	}
	named := func(doc, schema string) *openapi3.Schema {
		ref := byName[doc].Components.Schemas[schema]
		if ref == nil {
			t.Fatalf("%s has no schema %s", doc, schema)
		}
		return ref.Value
	}
	answer := func(doc, operationID string) *openapi3.Schema {
		for _, item := range byName[doc].Paths.Map() {
			for _, op := range item.Operations() {
				if op.OperationID != operationID {
					continue
				}
				for _, status := range []string{"200", "201", "202"} {
					if r := op.Responses.Value(status); r != nil {
						return r.Value.Content.Get("application/json").Schema.Value
					}
				}
			}
		}
		t.Fatalf("%s has no operation %s with a JSON answer", doc, operationID)
		return nil
	}
	for _, tc := range []struct {
		v      any
		schema *openapi3.Schema
	}{
		{client.Consent{}, named("consent-ingest", "ConsentInput")},
		{client.Identifiers{}, named("consent-ingest", "Identifiers")},
		{client.ConsentsAccepted{}, named("consent-ingest", "ConsentsAccepted")},
		{client.PrivacyRequest{}, named("consent-ingest", "RequestInput")},
		{client.RequestAccepted{}, named("consent-ingest", "RequestAnswer")},
		{client.FieldError{}, named("consent-ingest", "FieldError")},
		{client.RequestStatus{}, named("audit-sink", "RequestView")},
		{client.Extension{}, named("audit-sink", "RequestView").Properties["extensions"].Value.Items.Value},
		{client.Transition{}, named("audit-sink", "RequestView").Properties["transitions"].Value.Items.Value},
		{client.VendorProgress{}, named("audit-sink", "RequestView").Properties["vendors"].Value.Items.Value},
		{client.Receipt{}, named("audit-sink", "RequestView").Properties["vendors"].Value.Items.Value.Properties["receipts"].Value.Items.Value},
		{client.SubjectConsent{}, named("audit-sink", "SubjectConsent")},
		{client.PurposeState{}, named("audit-sink", "PurposeState")},
		{client.ChainPosition{}, named("audit-sink", "PurposeState").Properties["chain_position"].Value},
		{client.Suppression{}, answer("unsubscribe-handler", "checkSuppression")},
		{client.TenantSuppression{}, answer("unsubscribe-handler", "checkSuppression").Properties["tenants"].Value.Items.Value},
		{client.UnsubscribeLink{}, answer("unsubscribe-handler", "createUnsubscribeLink")},
	} {
		for _, problem := range structAgainstSchema(reflect.TypeOf(tc.v), tc.schema) {
			t.Errorf("%T: %s", tc.v, problem)
		}
	}
	// The input of an unsubscribe link is inline in the operation.
	for _, item := range byName["unsubscribe-handler"].Paths.Map() {
		if op := item.Post; op != nil && op.OperationID == "createUnsubscribeLink" {
			in := op.RequestBody.Value.Content.Get("application/json").Schema.Value
			for _, problem := range structAgainstSchema(reflect.TypeOf(client.UnsubscribeLinkInput{}), in) {
				t.Errorf("client.UnsubscribeLinkInput: %s", problem)
			}
		}
	}
}

// structAgainstSchema compares a struct's JSON fields with an object schema.
func structAgainstSchema(st reflect.Type, schema *openapi3.Schema) []string {
	var problems []string
	fields := map[string]reflect.Type{}
	for f := range st.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		fields[name] = f.Type
	}
	for name, typ := range fields {
		prop := schema.Properties[name]
		if prop == nil {
			problems = append(problems, fmt.Sprintf("field %q is not in the schema", name))
			continue
		}
		if want := jsonKind(typ); !prop.Value.Type.Is(want) && !prop.Value.Type.Includes(want) {
			problems = append(problems, fmt.Sprintf("field %q is a JSON %s, the schema says %v", name, want, prop.Value.Type.Slice()))
		}
	}
	for _, name := range schema.Required {
		if _, ok := fields[name]; !ok {
			problems = append(problems, fmt.Sprintf("required property %q has no field", name))
		}
	}
	slices.Sort(problems)
	return problems
}

func jsonKind(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeOf(time.Time{}):
		return "string"
	case t.Kind() == reflect.String:
		return "string"
	case t.Kind() == reflect.Bool:
		return "boolean"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "number"
	case t.Kind() == reflect.Slice:
		return "array"
	default:
		return "object"
	}
}
