package server

import (
	"net/http/httptest"
	"testing"
)

func TestDocumentServesTheSpecAsYAML(t *testing.T) {
	spec := []byte("openapi: 3.1.0\n")
	rec := httptest.NewRecorder()
	Document(spec).ServeHTTP(rec, httptest.NewRequest("GET", "/openapi.yaml", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/yaml" || rec.Body.String() != string(spec) {
		t.Fatalf("%d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
}
