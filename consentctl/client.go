package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
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

// call sends method to base+path and returns the answer's body. route is the path's
// template ("/v1/subjects/{tenant}/{subject_id}/history"), the only form an error shows:
// the filled path may hold a subject id.
func (e *env) call(method, base, route, path string, body []byte, headers ...string) ([]byte, error) {
	key, err := e.opts.key(productCommands[e.command])
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(e.ctx, e.opts.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(base, "/")+path, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, route, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] != "" {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		// The transport's error repeats the URL, whose path may name a subject.
		return nil, fmt.Errorf("%s %s at %s: %w", method, route, base, unwrapURLError(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", method, route, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return raw, &apiError{method: method, route: route, status: resp.StatusCode, body: raw}
	}
	return raw, nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
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
