package chain_test

import (
	"fmt"
	"testing"

	"github.com/consentry/consentry/services/audit-sink/internal/chain"
)

// built is a chain of n valid rows named name, and the head that ends it.
func built(t *testing.T, name string, n int) ([]chain.Row, chain.Head) {
	t.Helper()
	prev := chain.Genesis
	var rows []chain.Row
	for i := 1; i <= n; i++ {
		r := sample()
		r.EventID = fmt.Sprintf("0193a5b0-7e1c-7cc3-9a6e-%012d", i)
		r.Offset = int64(i)
		h := chain.Link(prev, r.Canonical())
		rows = append(rows, chain.Row{Chain: name, Seq: int64(i), PrevHash: clone(prev), Hash: clone(h), Record: r})
		prev = h
	}
	return rows, chain.Head{Chain: name, Seq: int64(n), Hash: prev}
}

func clone(h chain.Hash) []byte { return append([]byte(nil), h[:]...) }

func verify(t *testing.T, heads []chain.Head, rows ...chain.Row) chain.Report {
	t.Helper()
	v := chain.NewVerifier(heads)
	for _, r := range rows {
		if err := v.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	return v.Report()
}

func TestVerifierFindsTheFirstBreak(t *testing.T) {
	const c = "consent.events.v1/0"
	type want struct {
		kind string
		seq  int64
	}
	cases := []struct {
		name   string
		tamper func(rows []chain.Row, head *chain.Head) []chain.Row
		want   *want
	}{
		{"intact", func(rows []chain.Row, _ *chain.Head) []chain.Row { return rows }, nil},
		{"payload changed", func(rows []chain.Row, _ *chain.Head) []chain.Row {
			rows[2].Record.Payload = []byte("forged")
			return rows
		}, &want{chain.HashMismatch, 3}},
		{"details changed", func(rows []chain.Row, _ *chain.Head) []chain.Row {
			rows[1].Record.Details = []byte(`{"identifiers_sealed":true,"purposes":{"advertising":"granted"}}`)
			return rows
		}, &want{chain.HashMismatch, 2}},
		{"row changed and re-hashed, next row still names the old hash", func(rows []chain.Row, _ *chain.Head) []chain.Row {
			rows[1].Record.Source = str("cmp")
			prev, _ := chain.HashOf(rows[1].PrevHash)
			rows[1].Hash = clone(chain.Link(prev, rows[1].Record.Canonical()))
			return rows
		}, &want{chain.PrevMismatch, 3}},
		{"row in the middle deleted", func(rows []chain.Row, _ *chain.Head) []chain.Row {
			return append(rows[:2:2], rows[3:]...)
		}, &want{chain.Gap, 3}},
		{"first row deleted", func(rows []chain.Row, _ *chain.Head) []chain.Row { return rows[1:] }, &want{chain.Gap, 1}},
		{"last row deleted", func(rows []chain.Row, _ *chain.Head) []chain.Row { return rows[:4] }, &want{chain.HeadMismatch, 5}},
		{"every row deleted", func(rows []chain.Row, _ *chain.Head) []chain.Row { return nil }, &want{chain.HeadMismatch, 1}},
		{"valid row forged after the head", func(rows []chain.Row, _ *chain.Head) []chain.Row {
			r := sample()
			r.EventID = "0193a5b0-7e1c-7cc3-9a6e-999999999999"
			prev, _ := chain.HashOf(rows[4].Hash)
			return append(rows, chain.Row{Chain: c, Seq: 6, PrevHash: rows[4].Hash, Hash: clone(chain.Link(prev, r.Canonical())), Record: r})
		}, &want{chain.HeadMismatch, 6}},
		{"head rewritten", func(rows []chain.Row, head *chain.Head) []chain.Row {
			head.Hash[0] ^= 1
			return rows
		}, &want{chain.HeadMismatch, 5}},
		{"head lost", func(rows []chain.Row, head *chain.Head) []chain.Row {
			head.Chain = "elsewhere/0"
			return rows
		}, &want{chain.HeadMismatch, 1}},
		{"stored prev_hash changed", func(rows []chain.Row, _ *chain.Head) []chain.Row {
			rows[0].PrevHash = make([]byte, 31)
			return rows
		}, &want{chain.PrevMismatch, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows, head := built(t, c, 5)
			rows = tc.tamper(rows, &head)
			heads := []chain.Head{head}
			if head.Chain != c {
				heads = nil
			}
			got := verify(t, heads, rows...)
			var chains []chain.ChainReport
			for _, cr := range got.Chains {
				if cr.Chain == c {
					chains = append(chains, cr)
				}
			}
			if len(chains) != 1 {
				t.Fatalf("report of %s: %+v", c, got.Chains)
			}
			b := chains[0].Break
			switch {
			case tc.want == nil && (b != nil || !got.OK):
				t.Fatalf("intact chain reported broken: %+v", b)
			case tc.want != nil && (b == nil || got.OK):
				t.Fatalf("tampered chain reported intact (ok %v)", got.OK)
			case tc.want != nil && (b.Kind != tc.want.kind || b.Seq != tc.want.seq || b.Chain != c):
				t.Fatalf("break %s at %s#%d, want %s at #%d", b.Kind, b.Chain, b.Seq, tc.want.kind, tc.want.seq)
			}
			if n := int64(len(rows)); chains[0].Rows != n {
				t.Errorf("rows = %d, want %d", chains[0].Rows, n)
			}
		})
	}
}

func TestVerifierReportsEveryChainAndRowsOutsideThem(t *testing.T) {
	a, ha := built(t, "a/0", 3)
	b, hb := built(t, "b/1", 2)
	b[1].Record.Offset++
	empty := chain.Head{Chain: "c/2", Hash: chain.Genesis} // a head whose first batch held only duplicates
	loose := chain.Row{Record: sample()}
	got := verify(t, []chain.Head{hb, ha, empty}, append(append(a, b...), loose)...)
	if got.OK || got.Rows != 6 || got.Unchained != 1 || got.FirstUnchained == nil || got.FirstUnchained.Kind != chain.Unchained {
		t.Fatalf("report %+v, want not ok over 6 rows, one unchained", got)
	}
	if len(got.Chains) != 3 {
		t.Fatalf("chains %+v, want a/0, b/1, c/2", got.Chains)
	}
	for i, want := range []struct {
		name string
		ok   bool
		rows int64
	}{{"a/0", true, 3}, {"b/1", false, 2}, {"c/2", true, 0}} {
		c := got.Chains[i]
		if c.Chain != want.name || c.OK != want.ok || c.Rows != want.rows {
			t.Errorf("chain %d = %+v, want %+v", i, c, want)
		}
	}
	if br := got.Chains[1].Break; br == nil || br.Kind != chain.HashMismatch || br.Seq != 2 {
		t.Errorf("b/1 break %+v, want hash_mismatch at 2", br)
	}
}

func TestVerifierRefusesRowsOutOfOrder(t *testing.T) {
	a, ha := built(t, "a/0", 2)
	b, hb := built(t, "b/0", 1)
	v := chain.NewVerifier([]chain.Head{ha, hb})
	for _, r := range []chain.Row{a[0], b[0]} {
		if err := v.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Add(a[1]); err == nil {
		t.Fatal("a chain's rows split in two runs were accepted")
	}
}
