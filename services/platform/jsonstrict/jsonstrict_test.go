package jsonstrict_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/jsonstrict"
)

func TestDecodeNamesFields(t *testing.T) {
	type inner struct {
		N int `json:"n"`
	}
	type body struct {
		Name  string `json:"name"`
		Inner inner  `json:"inner"`
	}
	cases := map[string]struct {
		in, field string
	}{
		"unknown field": {`{"nmae": "x"}`, "items[2].nmae"},
		"wrong type":    {`{"inner": {"n": "seven"}}`, "items[2].inner.n"},
	}
	for name, c := range cases {
		var b body
		err := jsonstrict.Decode([]byte(c.in), "items[2]", &b)
		var e *apierror.Error
		if !errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0].Field != c.field {
			t.Errorf("%s: %+v, want field %s", name, err, c.field)
		}
		if strings.Contains(e.Error()+e.Fields[0].Message, "seven") {
			t.Errorf("%s: the error repeats the value", name)
		}
	}
	var b body
	if err := jsonstrict.Decode([]byte(`{"name": "a"} {"name": "b"}`), "", &b); err == nil {
		t.Error("accepted two JSON values")
	}
	// Found by FuzzDecode: a stray '}' or ']' after the value was accepted, since
	// Decoder.More reports false before one.
	for _, in := range []string{`{} }`, `{"name": "a"}]`} {
		if err := jsonstrict.Decode([]byte(in), "", &b); err == nil {
			t.Errorf("accepted %q, trailing data", in)
		}
	}
	// Found by FuzzDecode: an unknown empty key, outside a batch, was named by no
	// field at all.
	var e *apierror.Error
	if err := jsonstrict.Decode([]byte(`{"": 1}`), "", &b); !errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0].Field != `""` {
		t.Errorf("empty key: %+v, want field %s", err, `""`)
	}
}
