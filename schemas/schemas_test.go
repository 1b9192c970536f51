package schemas_test

import (
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hamba/avro/v2"

	"github.com/consentry/consentry/schemas"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the fixtures")

func fixtures() map[string]schemas.Event {
	at := time.Date(2026, 11, 28, 21, 4, 5, 123456000, time.UTC)
	rec := at.Add(1500 * time.Millisecond)
	deadline := time.Date(2026, 12, 28, 0, 0, 0, 0, time.UTC)
	sealed := &schemas.Sealed{Scheme: "A256GCM-v1", Nonce: []byte("0123456789ab"), Ciphertext: []byte{0xde, 0xad, 0xbe, 0xef}}
	h := func(id string) schemas.Header {
		return schemas.Header{
			EventID: id, Tenant: "consumer",
			SubjectKey: "3f1c2a9e0b7d4c5f8a6e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a",
			OccurredAt: at, RecordedAt: rec, Source: "cmp", PolicyVersion: "2025-04-09",
		}
	}
	consent := &schemas.ConsentChanged{Header: h("019ad0c4-8a2b-7c3d-9e4f-a1b2c3d4e5f6"),
		Purposes:  map[string]string{"analytics": "denied", "advertising": "denied", "marketing_email": "denied"},
		TCFString: "CQSbk4AQSbk4ANwAAAENAwCgAAAAAAAAAAYgACPAAAAA.IDKQA4AAgAKAGQAygAAA", GPPString: "DBABLA~BVQqAAAAAgA.QA"}
	consent.Identifiers = sealed
	request := &schemas.PrivacyRequest{Header: h("019ad0c4-8a2b-7c3d-9e4f-a1b2c3d4e5f7"),
		RequestID: "019ad0c4-8a2b-7c3d-9e4f-a1b2c3d4e5f7", Type: "erasure", Reason: "user_request",
		Status: "received", DeadlineAt: &deadline, Detail: "submitted over the API", Jurisdiction: "gdpr", Scope: "apply"}
	request.Identifiers = sealed
	suppression := &schemas.SuppressionChanged{Header: h("019ad0c4-8a2b-7c3d-9e4f-a1b2c3d4e5f8"),
		EmailSHA256: strings.Repeat("ab", 32), Scope: "all", Reason: "opt_out",
		SourceEventID: "019ad0c4-8a2b-7c3d-9e4f-a1b2c3d4e5f6"}
	suppression.Source = "email_link"
	bounce := &schemas.SuppressionChanged{Header: h("019ad0c4-8a2b-7c3d-9e4f-a1b2c3d4e5f9"),
		EmailSHA256: strings.Repeat("cd", 32), Scope: "topic", Topic: "newsletter", Reason: "bounce"}
	bounce.SubjectKey = "" // a bounce names an address, not a subject
	receipt := &schemas.VendorReceipt{Header: h("019ad0c4-8a2b-7c3d-9e4f-a1b2c3d4e5fa"),
		SourceEventID: "019ad0c4-8a2b-7c3d-9e4f-a1b2c3d4e5f6", Vendor: "amplitude", Action: "delete_user",
		Outcome: "accepted", Attempts: 2, HTTPStatus: 200, VendorReference: "day:2026-12-10"}
	receipt.Source = "vendor-fanout"
	return map[string]schemas.Event{
		"ConsentChanged": consent, "PrivacyRequest": request, "SuppressionChanged": suppression,
		"SuppressionChanged-bounce": bounce, "VendorReceipt": receipt,
	}
}

// TestGoldenPayloads pins the binary encoding: a change of field order or type that would
// make old bytes unreadable shows up as a diff here, not in production.
func TestGoldenPayloads(t *testing.T) {
	for name, event := range fixtures() {
		t.Run(name, func(t *testing.T) {
			got, err := schemas.Encode(event)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", name+".hex")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(hex.EncodeToString(got)+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			wantBytes, err := hex.DecodeString(strings.TrimSpace(string(want)))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantBytes, got); diff != "" {
				t.Errorf("encoding changed (-golden +now):\n%s", diff)
			}
			decoded, err := schemas.Decode(schemas.MustGet(event.SchemaName()), wantBytes)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(event, decoded); diff != "" {
				t.Errorf("golden payload decodes differently (-fixture +decoded):\n%s", diff)
			}
		})
	}
}

// Bytes written under version 1, before jurisdiction and scope existed, still decode
// with the schema they were written under — the path a consumer takes for old records.
func TestPrivacyRequestVersion1StillDecodes(t *testing.T) {
	want := fixtures()["PrivacyRequest"].(*schemas.PrivacyRequest)
	want.Jurisdiction, want.Scope = "", ""
	raw, err := os.ReadFile(filepath.Join("testdata", "golden", "PrivacyRequest-v1.hex"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	history, err := schemas.History(schemas.PrivacyRequestName)
	if err != nil {
		t.Fatal(err)
	}
	got, err := schemas.Decode(history[0], b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(schemas.Event(want), got); diff != "" {
		t.Errorf("version 1 bytes decode differently (-want +got):\n%s", diff)
	}
}

// Bytes written under ConsentChanged version 1, before the CMP strings were kept, still
// decode with the schema they were written under.
func TestConsentChangedVersion1StillDecodes(t *testing.T) {
	want := fixtures()["ConsentChanged"].(*schemas.ConsentChanged)
	want.TCFString, want.GPPString = "", ""
	raw, err := os.ReadFile(filepath.Join("testdata", "golden", "ConsentChanged-v1.hex"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	history, err := schemas.History(schemas.ConsentChangedName)
	if err != nil {
		t.Fatal(err)
	}
	got, err := schemas.Decode(history[0], b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(schemas.Event(want), got); diff != "" {
		t.Errorf("version 1 bytes decode differently (-want +got):\n%s", diff)
	}
}

func TestDecodeRejectsTruncatedAndTrailingBytes(t *testing.T) {
	event := fixtures()["ConsentChanged"]
	b, err := schemas.Encode(event)
	if err != nil {
		t.Fatal(err)
	}
	s := schemas.MustGet(schemas.ConsentChangedName)
	if _, err := schemas.Decode(s, b[:len(b)/2]); err == nil {
		t.Error("decoding half a payload succeeded")
	}
	if _, err := schemas.Decode(s, append(b, 0x00)); err == nil {
		t.Error("decoding a payload with a trailing byte succeeded")
	}
}

// TestDecodeRejectsAHugeArrayCount: found while writing FuzzDecode (the corpus keeps the
// input). A purposes array announcing 2^31-1 items made goavro allocate 32 GiB up front,
// and the runtime stopped with an out-of-memory error instead of Decode failing.
func TestDecodeRejectsAHugeArrayCount(t *testing.T) {
	event := fixtures()["ConsentChanged"].(*schemas.ConsentChanged)
	event.Purposes = nil
	b, err := schemas.Encode(event)
	if err != nil {
		t.Fatal(err)
	}
	// purposes is followed only by tcf_string and gpp_string, both null (one zero byte
	// each): replace its empty array (a zero count) by a block of 2^31-1 items, zig-zag
	// encoded, with no item following.
	b = append(b[:len(b)-3], 0xfe, 0xff, 0xff, 0xff, 0x0f)
	if _, err := schemas.Decode(schemas.MustGet(schemas.ConsentChangedName), b); err == nil {
		t.Error("decoded an array of 2^31-1 items from a few bytes")
	}
}

// TestEveryReleasedVersionIsFullyCompatible is the gate every schema change passes: the
// current schema must equal the newest file in history/<Name>/, and every pair of released
// versions must be compatible in both directions (FULL_TRANSITIVE), so old consumers read
// new events and new consumers read old ones. To change a schema, edit the .avsc and add it
// as the next history version.
func TestEveryReleasedVersionIsFullyCompatible(t *testing.T) {
	all, err := schemas.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 {
		t.Fatalf("want 4 event schemas, have %d", len(all))
	}
	subs, err := schemas.Submissions()
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 1 {
		t.Fatalf("want 1 submission schema, have %d", len(subs))
	}
	for _, current := range append(all, subs...) {
		t.Run(current.Name, func(t *testing.T) {
			history, err := schemas.History(current.Name)
			if err != nil {
				t.Fatal(err)
			}
			if len(history) == 0 {
				t.Fatal("no released version in history/")
			}
			// Byte for byte, doc strings included: a writer registers or looks up its
			// schema by its text, and a text the registry was never given is not found.
			if newest := history[len(history)-1]; newest.Text != current.Text {
				t.Fatalf("%s differs from its newest released version %s: add it as history version %d",
					current.File, newest.File, len(history)+1)
			}
			for i, older := range history {
				for _, newer := range history[i+1:] {
					if err := fullyCompatible(older.Text, newer.Text); err != nil {
						t.Errorf("%s vs %s: %v", older.File, newer.File, err)
					}
				}
			}
		})
	}
}

// TestCompatibilityGateCatchesBreakingChanges shows the gate can fail: each change here
// would break a consumer in one direction or the other.
func TestCompatibilityGateCatchesBreakingChanges(t *testing.T) {
	base := schemas.MustGet(schemas.VendorReceiptName).Text
	breaking := map[string]string{
		"required field added": strings.Replace(base, `{"name": "attempts", "type": "int"},`,
			`{"name": "attempts", "type": "int"}, {"name": "priority", "type": "int"},`, 1),
		"required field removed": strings.Replace(base, `{"name": "vendor", "type": "string"},`, ``, 1),
		"type narrowed":          strings.Replace(base, `{"name": "attempts", "type": "int"}`, `{"name": "attempts", "type": "string"}`, 1),
	}
	for name, changed := range breaking {
		t.Run(name, func(t *testing.T) {
			if changed == base {
				t.Fatal("the replacement did not apply; the test fixture is stale")
			}
			if err := fullyCompatible(base, changed); err == nil {
				t.Error("accepted a breaking change")
			}
		})
	}
	optional := strings.Replace(base, `{"name": "attempts", "type": "int"},`,
		`{"name": "attempts", "type": "int"}, {"name": "region", "type": ["null", "string"], "default": null},`, 1)
	if err := fullyCompatible(base, optional); err != nil {
		t.Errorf("rejected adding an optional field: %v", err)
	}
}

func fullyCompatible(older, newer string) error {
	o, err := avro.Parse(older)
	if err != nil {
		return err
	}
	n, err := avro.Parse(newer)
	if err != nil {
		return err
	}
	compat := avro.NewSchemaCompatibility()
	if err := compat.Compatible(n, o); err != nil {
		return err // a new reader cannot read old data
	}
	return compat.Compatible(o, n) // an old reader cannot read new data
}
