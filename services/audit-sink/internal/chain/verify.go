package chain

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"sort"
	"time"
)

// Kinds of break, in the order a row is checked.
const (
	// Gap: the chain skips a position (a row was deleted) or repeats one.
	Gap = "gap"
	// PrevMismatch: the row does not name its predecessor's hash as prev_hash.
	PrevMismatch = "prev_mismatch"
	// HashMismatch: the row's hash is not SHA-256(prev ‖ canonical row): it was changed.
	HashMismatch = "hash_mismatch"
	// HeadMismatch: the chain does not end where its head says (rows removed from or
	// appended to the end, or a chain without a head).
	HeadMismatch = "head_mismatch"
	// Unchained: a row in no chain, which no hash protects.
	Unchained = "unchained"
)

// Head is where a chain ends: its last position and hash.
type Head struct {
	Chain string
	Seq   int64
	Hash  Hash
	At    time.Time
}

// Row is a stored row as the verifier reads it. An empty Chain is a row in no chain.
type Row struct {
	Chain    string
	Seq      int64
	PrevHash []byte
	Hash     []byte
	Record   Record
}

// Break is the first place a chain fails to verify. Seq is the position at fault: the
// missing one for a gap or a chain cut short, the offending row's otherwise. Expected
// and Found are hashes in hex; ExpectedSeq and FoundSeq say which positions were
// expected and found where positions disagree.
type Break struct {
	Chain       string `json:"chain"`
	Seq         int64  `json:"chain_seq"`
	EventID     string `json:"event_id,omitempty"`
	Kind        string `json:"kind"`
	Expected    string `json:"expected,omitempty"`
	Found       string `json:"found,omitempty"`
	ExpectedSeq *int64 `json:"expected_seq,omitempty"`
	FoundSeq    *int64 `json:"found_seq,omitempty"`
}

// ChainReport is one chain's verification.
type ChainReport struct {
	Chain    string `json:"chain"`
	Rows     int64  `json:"rows"`
	HeadSeq  int64  `json:"head_seq"`
	HeadHash string `json:"head_hash,omitempty"`
	OK       bool   `json:"ok"`
	Break    *Break `json:"break,omitempty"`
}

// Report is a whole log's verification.
type Report struct {
	OK        bool          `json:"ok"`
	Rows      int64         `json:"rows"`
	Chains    []ChainReport `json:"chains"`
	Unchained int64         `json:"unchained_rows"`
	// FirstUnchained names the first row in no chain, if any.
	FirstUnchained *Break `json:"first_unchained,omitempty"`
}

// Verifier recomputes chains from rows fed to it one at a time, grouped by chain and in
// chain_seq order within one, so that a log of any size is verified in constant memory
// per chain.
type Verifier struct {
	heads map[string]Head
	seen  map[string]bool
	out   Report
	cur   *walk
}

type walk struct {
	report  ChainReport
	head    Head
	hasHead bool
	next    int64
	prev    Hash
}

// NewVerifier verifies against heads, the chain heads read in the same snapshot as the
// rows.
func NewVerifier(heads []Head) *Verifier {
	v := &Verifier{heads: make(map[string]Head, len(heads)), seen: map[string]bool{}}
	for _, h := range heads {
		v.heads[h.Chain] = h
	}
	return v
}

// Add checks the next row. It fails only when rows arrive out of the required order.
func (v *Verifier) Add(r Row) error {
	v.out.Rows++
	if r.Chain == "" {
		v.out.Unchained++
		if v.out.FirstUnchained == nil {
			v.out.FirstUnchained = &Break{Kind: Unchained, EventID: r.Record.EventID}
		}
		return nil
	}
	if v.cur == nil || v.cur.report.Chain != r.Chain {
		if v.seen[r.Chain] {
			return fmt.Errorf("chain: rows of %s are not contiguous; order them by chain, chain_seq", r.Chain)
		}
		v.finish()
		v.start(r.Chain)
	}
	w := v.cur
	w.report.Rows++
	if w.report.Break != nil {
		return nil
	}
	if r.Seq != w.next {
		found := r.Seq
		w.fail(Break{Seq: min(w.next, r.Seq), EventID: r.Record.EventID, Kind: Gap,
			Expected: w.prev.String(), Found: hex.EncodeToString(r.PrevHash), ExpectedSeq: ptr(w.next), FoundSeq: &found})
		if r.Seq < w.next {
			return fmt.Errorf("chain: %s position %d arrives after %d; order rows by chain_seq", r.Chain, r.Seq, w.next-1)
		}
		return nil
	}
	if !bytes.Equal(r.PrevHash, w.prev[:]) {
		w.fail(Break{Seq: r.Seq, EventID: r.Record.EventID, Kind: PrevMismatch, Expected: w.prev.String(), Found: hex.EncodeToString(r.PrevHash)})
		return nil
	}
	want := Link(w.prev, r.Record.Canonical())
	if !bytes.Equal(r.Hash, want[:]) {
		w.fail(Break{Seq: r.Seq, EventID: r.Record.EventID, Kind: HashMismatch, Expected: want.String(), Found: hex.EncodeToString(r.Hash)})
		return nil
	}
	if !w.hasHead || r.Seq > w.head.Seq {
		found := r.Seq
		w.fail(Break{Seq: r.Seq, EventID: r.Record.EventID, Kind: HeadMismatch, Expected: w.headHash(), Found: want.String(),
			ExpectedSeq: ptr(w.head.Seq), FoundSeq: &found})
		return nil
	}
	w.prev, w.next = want, w.next+1
	return nil
}

func (v *Verifier) start(name string) {
	v.seen[name] = true
	h, ok := v.heads[name]
	v.cur = &walk{report: ChainReport{Chain: name, HeadSeq: h.Seq}, head: h, hasHead: ok, next: 1, prev: Genesis}
	if ok {
		v.cur.report.HeadHash = h.Hash.String()
	}
}

// finish closes the current chain: it must end at its head.
func (v *Verifier) finish() {
	w := v.cur
	if w == nil {
		return
	}
	v.cur = nil
	last := w.next - 1
	if w.report.Break == nil && w.hasHead && (last != w.head.Seq || w.prev != w.head.Hash) {
		w.fail(Break{Seq: min(last+1, w.head.Seq), Kind: HeadMismatch, Expected: w.head.Hash.String(), Found: w.prev.String(),
			ExpectedSeq: ptr(w.head.Seq), FoundSeq: ptr(last)})
	}
	w.report.OK = w.report.Break == nil
	v.out.Chains = append(v.out.Chains, w.report)
}

// Report ends the walk: chains whose rows are all gone are checked against their heads,
// and the report is sorted by chain.
func (v *Verifier) Report() Report {
	v.finish()
	for name := range v.heads {
		if !v.seen[name] {
			v.start(name)
			v.finish()
		}
	}
	sort.Slice(v.out.Chains, func(i, j int) bool { return v.out.Chains[i].Chain < v.out.Chains[j].Chain })
	v.out.OK = v.out.Unchained == 0
	for _, c := range v.out.Chains {
		v.out.OK = v.out.OK && c.OK
	}
	if v.out.Chains == nil {
		v.out.Chains = []ChainReport{}
	}
	return v.out
}

func (w *walk) fail(b Break) {
	b.Chain = w.report.Chain
	w.report.Break = &b
}

func (w *walk) headHash() string {
	if !w.hasHead {
		return ""
	}
	return w.head.Hash.String()
}

func ptr(n int64) *int64 { return &n }
