package jsonstrict_test

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/jsonstrict"
)

// fuzzBody has a field of every JSON kind, so that type errors of each kind occur.
type fuzzBody struct {
	Name    string            `json:"name"`
	Count   int               `json:"count"`
	On      bool              `json:"on"`
	Ratio   float64           `json:"ratio"`
	Tags    []string          `json:"tags"`
	Labels  map[string]string `json:"labels"`
	Inner   *fuzzInner        `json:"inner"`
	Entries []fuzzInner       `json:"entries"`
}

type fuzzInner struct {
	N    int    `json:"n"`
	Note string `json:"note,omitempty"`
}

// decodeMessages are every top-level message Decode may give: fixed text, so that
// no part of the body can be repeated in it.
var decodeMessages = regexp.MustCompile(`^(the body is not valid JSON \(at byte \d+\)|the body is empty|the body is truncated JSON|the body could not be read as JSON|the body holds more than one JSON value|the request has invalid fields)$`)

var fieldMessages = regexp.MustCompile(`^(must be (a string|an object|an array|true or false|a number)|is not a known field)$`)

// FuzzDecode: Decode never panics; it accepts only a body that is exactly
// one JSON value; every error is an invalid-request *apierror.Error whose messages are
// fixed text and whose fields are named, under the prefix when there is one.
func FuzzDecode(f *testing.F) {
	for _, s := range []struct {
		body  string
		batch bool
	}{
		{`{"name":"a","count":3,"on":true,"ratio":0.5,"tags":["x"],"labels":{"k":"v"},"inner":{"n":1},"entries":[{"n":2,"note":"y"}]}`, false},
		{`{"name":"a"}`, true},
		{`{"nmae":"x"}`, true},
		{`{"inner":{"n":"seven"}}`, true},
		{`{"entries":[{"n":1},{"n":true}]}`, false},
		{`{"labels":{"ada@example.com":5}}`, false},
		{`{"inner":{"x":1}}`, false},
		{`{"count":1e400}`, false},
		{`{"name":"a"} {"name":"b"}`, false},
		{`{"name":"a"`, false},
		{`{"name":"\ud800"}`, false},
		{`"name"`, true},
		{`[1,2]`, false},
		{`null`, false},
		{` `, false},
		{``, true},
	} {
		f.Add([]byte(s.body), s.batch)
	}
	f.Fuzz(func(t *testing.T, body []byte, batch bool) {
		prefix := ""
		if batch {
			prefix = "items[2]"
		}
		var v fuzzBody
		err := jsonstrict.Decode(body, prefix, &v)
		if err == nil {
			if !json.Valid(body) {
				t.Errorf("accepted %q, which is not one JSON value", body)
			}
			return
		}
		var e *apierror.Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v (%T) is not an *apierror.Error", err, err)
		}
		if e.Code != apierror.Invalid || !decodeMessages.MatchString(e.Message) {
			t.Errorf("error %+v: want code invalid and a fixed message", e)
		}
		if (len(e.Fields) > 0) != (e.Message == "the request has invalid fields") {
			t.Errorf("error %+v: fields and message disagree", e)
		}
		for _, fe := range e.Fields {
			if fe.Field == "" {
				t.Errorf("field error %+v names no field", fe)
			}
			if prefix != "" && fe.Field != prefix && !strings.HasPrefix(fe.Field, prefix+".") {
				t.Errorf("field %q is not under %q", fe.Field, prefix)
			}
			if !fieldMessages.MatchString(fe.Message) {
				t.Errorf("field error %+v: the message is not one of the fixed ones", fe)
			}
		}
	})
}
