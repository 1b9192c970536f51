package schemas_test

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/consentry/consentry/schemas"
)

// FuzzDecode feeds arbitrary bytes to the decoder of one of the four schemas (the first
// argument picks which): consumers decode whatever a topic holds, so Decode must never
// panic nor exhaust memory, and an event it returns that Validate accepts must survive
// Encode and Decode unchanged — what a consumer forwards is what it read.
func FuzzDecode(f *testing.F) {
	all := allSchemas(f)
	for _, e := range fixtures() {
		b, err := schemas.Encode(e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(schemaIndex(f, all, e.SchemaName()), b)
	}
	for i := range all {
		f.Add(uint8(i), []byte{})
		f.Add(uint8(i), []byte{0x00})
		f.Add(uint8(i), []byte("\x48not a uuid but long enough for one"))
		f.Add(uint8(i), bytes.Repeat([]byte{0xff}, 11)) // a varint longer than 64 bits
		f.Add(uint8(i), bytes.Repeat([]byte{0x01}, 64)) // negative lengths
	}
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		checkDecode(t, all[int(which)%len(all)], b)
	})
}

// FuzzDecodeGolden starts from the golden payloads, the bytes production writes, and
// decodes every mutation under all four schemas.
func FuzzDecodeGolden(f *testing.F) {
	all := allSchemas(f)
	paths, err := filepath.Glob(filepath.Join("testdata", "golden", "*.hex"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no golden payloads: %v", err)
	}
	for _, p := range paths {
		text, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		b, err := hex.DecodeString(strings.TrimSpace(string(text)))
		if err != nil {
			f.Fatalf("%s: %v", p, err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, s := range all {
			checkDecode(t, s, b)
		}
	})
}

func checkDecode(t *testing.T, s *schemas.Schema, b []byte) {
	t.Helper()
	e, err := schemas.Decode(s, b)
	if err != nil {
		if e != nil {
			t.Errorf("%s: Decode returned an event and the error %v", s.Name, err)
		}
		return
	}
	if e == nil || e.SchemaName() != s.Name {
		t.Fatalf("%s: Decode returned %#v and no error", s.Name, e)
	}
	if schemas.Validate(e) != nil {
		return // dead-lettered by every consumer; nothing more is promised
	}
	out, err := schemas.Encode(e)
	if err != nil {
		t.Fatalf("%s: a valid decoded event does not encode: %v", s.Name, err)
	}
	back, err := schemas.Decode(schemas.MustGet(e.SchemaName()), out)
	if err != nil {
		t.Fatalf("%s: re-encoded event does not decode: %v", s.Name, err)
	}
	if diff := cmp.Diff(e, back); diff != "" {
		t.Errorf("%s: round trip changed the event (-decoded +round-tripped):\n%s", s.Name, diff)
	}
	if again, err := schemas.Encode(back); err != nil || !bytes.Equal(again, out) {
		t.Errorf("%s: the encoding of an event is not stable: %x then %x (%v)", s.Name, out, again, err)
	}
}

func allSchemas(tb testing.TB) []*schemas.Schema {
	tb.Helper()
	all, err := schemas.All()
	if err != nil || len(all) != 4 {
		tb.Fatalf("schemas.All: %d schemas, %v", len(all), err)
	}
	return all
}

func schemaIndex(tb testing.TB, all []*schemas.Schema, name string) uint8 {
	tb.Helper()
	for i, s := range all {
		if s.Name == name {
			return uint8(i)
		}
	}
	tb.Fatalf("no schema %s", name)
	return 0
}
