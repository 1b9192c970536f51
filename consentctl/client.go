package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/consentry/consentry/client"
)

// apiError is an answer outside 2xx. Its body is the API's JSON error, printed as sent:
// the APIs never repeat a submitted value in an error, so it names no person.
type apiError struct {
	method, route string
	status        int
	body          []byte
}

func (e *apiError) Error() string {
	body := strings.TrimSpace(string(e.body))
	if body == "" {
		body = "(no body)"
	}
	return fmt.Sprintf("%s %s: %d %s\n%s", e.method, e.route, e.status, http.StatusText(e.status), body)
}

// call sends method to base+path through the Go client (client.Client.Do), so that a 503
// or 429 is retried after its Retry-After — a POST only with an Idempotency-Key, the same
// on every attempt — and returns the answer's body. route is the path's template
// ("/v1/subjects/{tenant}/{subject_id}/history"), the only form an error shows: the
// filled path may hold a subject id.
func (e *env) call(method, base, route, path string, body []byte, headers ...string) ([]byte, error) {
	key, err := e.opts.key(productCommands[e.command])
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(e.ctx, e.opts.timeout)
	defer cancel()
	c := client.New(client.Config{APIKey: key})
	call := client.Call{Method: method, Base: base, Route: route, Path: path, Body: body}
	for i := 0; i+1 < len(headers); i += 2 {
		switch {
		case headers[i+1] == "":
		case http.CanonicalHeaderKey(headers[i]) == "Idempotency-Key":
			call.IdempotencyKey = headers[i+1]
		default:
			if call.Header == nil {
				call.Header = http.Header{}
			}
			call.Header.Set(headers[i], headers[i+1])
		}
	}
	raw, err := c.Do(ctx, call)
	var ae *client.Error
	if errors.As(err, &ae) {
		return ae.Body, &apiError{method: method, route: route, status: ae.Status, body: ae.Body}
	}
	return raw, err
}

// print writes a JSON answer indented (or compact with --compact), one value per line.
func (e *env) print(raw []byte) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	var out bytes.Buffer
	var err error
	if e.opts.compact {
		err = json.Compact(&out, raw)
	} else {
		err = json.Indent(&out, raw, "", "  ")
	}
	if err != nil {
		// Not JSON (a proxy's HTML page, say): show it as it came.
		out.Reset()
		out.Write(raw)
	}
	out.WriteByte('\n')
	_, err = e.stdout.Write(out.Bytes())
	return err
}

// printValue marshals v and prints it like an API answer.
func (e *env) printValue(v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return e.print(raw)
}
