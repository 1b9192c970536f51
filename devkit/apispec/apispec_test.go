package apispec

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const petDoc = `openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /v1/things:
    post:
      operationId: addThing
      x-consentry-permission: "things:write"
      security: [{key: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [name]
              properties:
                name: {type: string}
      responses:
        "201":
          description: made
          content:
            application/json:
              schema:
                type: object
                required: [id]
                properties:
                  id: {type: string}
        default:
          description: error
          content:
            application/json:
              schema: {type: object, required: [error]}
components:
  securitySchemes:
    key: {type: http, scheme: bearer}
`

// serve answers POST /v1/things with status and body whatever the request.
func serve(t *testing.T, status int, body string) (*Transport, string) {
	t.Helper()
	d, err := Load("things", []byte(petDoc))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return &Transport{Docs: []*Doc{d}}, srv.URL
}

func post(tr *Transport, url, body string) (*http.Response, error) {
	return (&http.Client{Transport: tr}).Post(url+"/v1/things", "application/json", strings.NewReader(body))
}

func TestTransportPassesAnExchangeTheDocumentDescribes(t *testing.T) {
	tr, url := serve(t, 201, `{"id":"a1"}`)
	resp, err := post(tr, url, `{"name":"x"}`)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != `{"id":"a1"}` || tr.Checked() != 1 || len(tr.Failures()) != 0 {
		t.Fatalf("body %q, checked %d, failures %v", b, tr.Checked(), tr.Failures())
	}
}

func TestTransportFailsAResponseTheDocumentDoesNotDescribe(t *testing.T) {
	tr, url := serve(t, 201, `{"ident":"a1"}`)
	_, err := post(tr, url, `{"name":"x"}`)
	if err == nil || !strings.Contains(err.Error(), "POST /v1/things (addThing)") || !strings.Contains(err.Error(), "missing property 'id'") {
		t.Fatalf("err = %v, want one naming the operation and the missing property", err)
	}
	if len(tr.Failures()) != 1 {
		t.Fatalf("failures %v", tr.Failures())
	}
}

// A malformed request the service refuses agrees with the document; one it accepts does not.
func TestTransportFailsOnlyAnInvalidRequestTheServiceAccepted(t *testing.T) {
	tr, url := serve(t, 400, `{"error":{"code":"invalid"}}`)
	if _, err := post(tr, url, `{"nmae":"x"}`); err != nil {
		t.Fatalf("a refused invalid request: %v", err)
	}
	tr, url = serve(t, 201, `{"id":"a1"}`)
	_, err := post(tr, url, `{"nmae":"x"}`)
	if err == nil || !strings.Contains(err.Error(), "answered 201 to a request its document refuses") {
		t.Fatalf("err = %v", err)
	}
}

func TestTransportPassesRoutesNoDocumentHas(t *testing.T) {
	tr, url := serve(t, 200, `whatever`)
	resp, err := (&http.Client{Transport: tr}).Get(url + "/_sim/calls")
	if err != nil || resp.StatusCode != 200 || tr.Checked() != 0 {
		t.Fatalf("resp %v err %v checked %d", resp, err, tr.Checked())
	}
}

func TestDriftNamesEachDifference(t *testing.T) {
	d, err := Load("things", []byte(petDoc))
	if err != nil {
		t.Fatal(err)
	}
	got := Drift(d, []Route{{Pattern: "POST /v1/things", Permission: "operator"}, {Pattern: "GET /v1/things", Permission: "things:read"}})
	want := []string{
		`route "GET /v1/things" is served but not in things's OpenAPI document`,
		`route "POST /v1/things" needs permission "operator" but the document says x-consentry-permission "things:write"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("drift:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := Drift(d, nil); len(got) != 1 || !strings.Contains(got[0], "no route serves it") {
		t.Fatalf("drift of an unserved operation: %v", got)
	}
}

// Every service's document loads, is OpenAPI 3.1 and valid.
func TestEveryServiceDocumentLoads(t *testing.T) {
	docs, err := LoadRepo(".")
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != len(Services) {
		t.Fatalf("%d documents", len(docs))
	}
}
