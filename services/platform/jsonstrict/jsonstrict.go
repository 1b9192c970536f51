// Package jsonstrict decodes a client's JSON strictly: one value, no unknown fields, no
// trailing data, and errors that name the field at fault without echoing its value, so that
// a handler or a domain parser can hand them to the client as they are.
package jsonstrict

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/consentry/consentry/platform/apierror"
)

// Decode decodes one JSON value into v, rejecting unknown fields and trailing data.
// Errors are *apierror.Error values that name the field (under prefix, e.g. "consents[2]"),
// never echo its value.
func Decode(b []byte, prefix string, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, prefix)
	}
	// Not dec.More(), which reports false before a stray ']' or '}': only the end of the
	// body may follow the value.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apierror.New(apierror.Invalid, "the body holds more than one JSON value")
	}
	return nil
}

func jsonError(err error, prefix string) error {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	at := func(field string) string {
		switch {
		case prefix == "":
			return field
		case field == "":
			return prefix
		}
		return prefix + "." + field
	}
	switch {
	case errors.As(err, &syntax):
		return apierror.New(apierror.Invalid, fmt.Sprintf("the body is not valid JSON (at byte %d)", syntax.Offset))
	case errors.As(err, &typ):
		field := at(typ.Field)
		if field == "" {
			field = "(body)"
		}
		return apierror.Fields([]apierror.FieldError{{Field: field, Message: "must be " + jsonTypeName(typ.Type.Kind().String())}})
	case errors.Is(err, io.EOF):
		return apierror.New(apierror.Invalid, "the body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apierror.New(apierror.Invalid, "the body is truncated JSON")
	}
	// encoding/json reports unknown fields as `json: unknown field "x"`; the name is ours
	// to repeat since it is a key the client chose, not a value.
	if name, ok := unknownField(err.Error()); ok {
		if name == "" {
			name = `""` // the empty key, quoted as encoding/json quotes the others
		}
		return apierror.Fields([]apierror.FieldError{{Field: at(name), Message: "is not a known field"}})
	}
	return apierror.New(apierror.Invalid, "the body could not be read as JSON")
}

func unknownField(msg string) (string, bool) {
	const prefix = `json: unknown field "`
	if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		return msg[len(prefix) : len(msg)-1], true
	}
	return "", false
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "an array"
	case "bool":
		return "true or false"
	default:
		return "a number"
	}
}
