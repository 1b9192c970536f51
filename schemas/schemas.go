// Package schemas holds Consentry's event contracts: the Avro schemas (embedded from the
// .avsc files beside this file), the Go types that mirror them, and the conversion between
// the two through goavro codecs.
//
// Decoding always uses the writer's schema (the one the registry names by id), then maps
// fields by name onto the Go type: a field the Go type does not know is ignored and a field
// the writer did not have keeps its zero value. That is what lets a consumer read events
// written under an older or newer compatible schema.
package schemas

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"

	"github.com/linkedin/goavro/v2"
)

//go:embed *.avsc history/*/*.avsc submissions/*.avsc
var files embed.FS

// Fully qualified record names, which are also how a Schema is looked up.
const (
	ConsentChangedName     = "consentry.v1.ConsentChanged"
	PrivacyRequestName     = "consentry.v1.PrivacyRequest"
	SuppressionChangedName = "consentry.v1.SuppressionChanged"
	VendorReceiptName      = "consentry.v1.VendorReceipt"
	// ConsentSubmissionName is not an event: it is what a product service writes to an
	// ingest topic, and consent-ingest turns it into a ConsentChanged.
	ConsentSubmissionName = "consentry.v1.ConsentSubmission"
)

// Schema is one parsed record schema with its codec.
type Schema struct {
	// Name is the fully qualified record name, e.g. consentry.v1.ConsentChanged.
	Name string
	// File is the .avsc file it was read from.
	File string
	// Text is the schema as written in the file.
	Text  string
	codec *goavro.Codec
}

// Codec returns the goavro codec of the schema.
func (s *Schema) Codec() *goavro.Codec { return s.codec }

// Canonical returns the Parsing Canonical Form, which is what identifies a schema
// regardless of whitespace, docs and field order of attributes.
func (s *Schema) Canonical() string { return s.codec.CanonicalSchema() }

var (
	loadOnce    sync.Once
	loaded      map[string]*Schema // events
	submissions map[string]*Schema // what producers submit over Kafka
	loadErr     error
)

// All returns the current schema of every event type, sorted by name.
func All() ([]*Schema, error) {
	m, err := current()
	if err != nil {
		return nil, err
	}
	out := make([]*Schema, 0, len(m))
	for _, s := range m {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Submissions returns the current schema of every submission record, sorted by name.
func Submissions() ([]*Schema, error) {
	if _, err := current(); err != nil {
		return nil, err
	}
	out := make([]*Schema, 0, len(submissions))
	for _, s := range submissions {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Get returns the current schema of the named record, event or submission.
func Get(name string) (*Schema, error) {
	m, err := current()
	if err != nil {
		return nil, err
	}
	s, ok := m[name]
	if !ok {
		s, ok = submissions[name]
	}
	if !ok {
		return nil, fmt.Errorf("schemas: no schema named %q", name)
	}
	return s, nil
}

// MustGet is Get for names known at compile time; it panics only if the embedded files
// are broken, which the package tests rule out.
func MustGet(name string) *Schema {
	s, err := Get(name)
	if err != nil {
		panic(err)
	}
	return s
}

// History returns every released version of the named record, oldest first. Version n is
// history/<short name>/<n>.avsc. The last entry equals the current schema (a test checks it).
func History(name string) ([]*Schema, error) {
	short := name[strings.LastIndex(name, ".")+1:]
	entries, err := fs.ReadDir(files, "history/"+short)
	if err != nil {
		return nil, fmt.Errorf("schemas: history of %s: %w", name, err)
	}
	type versioned struct {
		n int
		s *Schema
	}
	var vs []versioned
	for _, e := range entries {
		var n int
		if _, err := fmt.Sscanf(e.Name(), "%d.avsc", &n); err != nil {
			return nil, fmt.Errorf("schemas: history file %s/%s is not named <version>.avsc", short, e.Name())
		}
		s, err := parseFile("history/" + short + "/" + e.Name())
		if err != nil {
			return nil, err
		}
		if s.Name != name {
			return nil, fmt.Errorf("schemas: history file %s/%s holds %s", short, e.Name(), s.Name)
		}
		vs = append(vs, versioned{n, s})
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].n < vs[j].n })
	out := make([]*Schema, len(vs))
	for i, v := range vs {
		if v.n != i+1 {
			return nil, fmt.Errorf("schemas: history of %s skips version %d", name, i+1)
		}
		out[i] = v.s
	}
	return out, nil
}

// maxArrayItems bounds one block of an Avro array. goavro makes room for a block's items
// from the count in the payload before it reads any, so without a bound five bytes ask
// for 32 GiB and the runtime stops with an out-of-memory error no recover catches: one
// poison record would crash every consumer of its topic, again after each restart. The
// only array in an event is its purposes, a handful of entries.
const maxArrayItems = 1 << 16

var limitOnce sync.Once

// Parse builds a Schema from schema text, such as one fetched from a registry by id.
func Parse(text string) (*Schema, error) {
	// goavro takes the bound only as a package variable, which every encode and decode
	// reads. Every codec is made here, so setting it before the first one orders the
	// write before all those reads.
	limitOnce.Do(func() { goavro.MaxBlockCount = maxArrayItems })
	codec, err := goavro.NewCodec(text)
	if err != nil {
		return nil, fmt.Errorf("schemas: parse: %w", err)
	}
	var head struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	}
	if err := json.Unmarshal([]byte(text), &head); err != nil {
		return nil, fmt.Errorf("schemas: parse: %w", err)
	}
	name := head.Name
	if head.Namespace != "" && !strings.Contains(name, ".") {
		name = head.Namespace + "." + name
	}
	return &Schema{Name: name, Text: text, codec: codec}, nil
}

func parseFile(path string) (*Schema, error) {
	b, err := files.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("schemas: read %s: %w", path, err)
	}
	s, err := Parse(string(b))
	if err != nil {
		return nil, fmt.Errorf("schemas: %s: %w", path, err)
	}
	s.File = path
	return s, nil
}

func current() (map[string]*Schema, error) {
	loadOnce.Do(func() {
		var errs []error
		load := func(pattern string) map[string]*Schema {
			paths, err := fs.Glob(files, pattern)
			if err != nil {
				errs = append(errs, err)
			}
			m := make(map[string]*Schema, len(paths))
			for _, p := range paths {
				s, err := parseFile(p)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				m[s.Name] = s
			}
			return m
		}
		loaded, submissions = load("*.avsc"), load("submissions/*.avsc")
		loadErr = errors.Join(errs...)
	})
	return loaded, loadErr
}
