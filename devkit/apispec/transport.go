package apispec

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3filter"
)

// Transport is an http.RoundTripper that validates each exchange with a Consentry
// service against that service's document. A request none of the documents routes (the
// vendor simulator, the admin listener) passes unchecked: that every route is
// documented is Drift's job.
//
// A request the document refuses is a finding only when the service accepted it (a 2xx
// or 3xx): tests send malformed requests on purpose, and a service that refuses them
// agrees with its document. A response that does not match its document is always a
// finding. A finding fails the round trip with an error naming the operation and the
// problem, and is kept for Failures, so that a test which drops the error still fails.
type Transport struct {
	Base http.RoundTripper
	Docs []*Doc

	mu       sync.Mutex
	failures []string
	checked  int
}

// RoundTrip sends req through Base and validates the exchange.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	doc, route, params, ok := find(t.Docs, req)
	if !ok {
		return base.RoundTrip(req)
	}
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))

	op := route.Method + " " + route.Path
	if route.Operation != nil && route.Operation.OperationID != "" {
		op += " (" + route.Operation.OperationID + ")"
	}
	// The validator reads the request's body itself; give it a copy.
	vreq := req.Clone(context.Background())
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	in := &openapi3filter.RequestValidationInput{
		Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	var problems []string
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil && resp.StatusCode < 400 {
		problems = append(problems, fmt.Sprintf("the service answered %d to a request its document refuses: %s", resp.StatusCode, oneLine(err)))
	}
	if err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body:    io.NopCloser(bytes.NewReader(respBody)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}); err != nil {
		problems = append(problems, fmt.Sprintf("response %d does not match the document: %s", resp.StatusCode, oneLine(err)))
	}
	t.mu.Lock()
	t.checked++
	if len(problems) > 0 {
		t.failures = append(t.failures, doc.Name+" "+op+": "+strings.Join(problems, "; "))
	}
	t.mu.Unlock()
	if len(problems) > 0 {
		return nil, fmt.Errorf("OpenAPI: %s %s: %s", doc.Name, op, strings.Join(problems, "; "))
	}
	return resp, nil
}

// Failures returns every finding so far.
func (t *Transport) Failures() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.failures...)
}

// Checked returns how many exchanges were validated.
func (t *Transport) Checked() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.checked
}

// oneLine flattens kin-openapi's multi-line errors (schema dumps included) to their
// first lines, which name the field and the rule.
func oneLine(err error) string {
	var parts []string
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(line)
		if strings.Trim(line, "{}[],\" ") == "" || strings.HasPrefix(line, "Schema:") || strings.HasPrefix(line, "Value:") || strings.HasPrefix(line, "\"") {
			continue
		}
		parts = append(parts, line)
		if len(parts) == 4 {
			break
		}
	}
	return strings.Join(parts, " | ")
}
