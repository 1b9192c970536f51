package e2e

import (
	"testing"
	"time"

	"github.com/consentry/consentry/devstack/scenarios"
)

// TestKafkaSubmissionActsAsHTTPOnce: a consent a product service writes to the ingest
// topic reaches the vendors, the receipts and the audit log as the same consent posted
// over HTTP does; written twice (a producer's retry, or a redelivery), it is one audit
// row and one delivery per vendor.
func TestKafkaSubmissionActsAsHTTPOnce(t *testing.T) {
	s := startStack(t, "")
	denied := map[string]string{"analytics": "denied", "advertising": "denied", "marketing_email": "denied"}
	viaHTTP := postConsent(t, s, "http-k1", "http-k1@example.com")
	p := person{subjectID: "kafka-k1", email: "kafka-k1@example.com", vendorIDs: map[string]string{"amplitude": "amp-kafka-k1"}}
	viaKafka := submitOverKafka(t, s, p, "kafka-k1-change-1", denied)
	if again := submitOverKafka(t, s, p, "kafka-k1-change-1", denied); again != viaKafka {
		t.Fatalf("the same submission got event ids %s and %s", viaKafka, again)
	}

	// jobsOpen counts vendors whose last word is a job accepted but not yet verified.
	var jobsOpen int
	receipts := func(subject, eventID string) (rows int, byVendor map[string]int) {
		byVendor = map[string]int{}
		last := map[string]string{}
		for _, e := range scenarios.History(t, s, "consumer", subject) {
			switch {
			case e.Type == "ConsentChanged" && e.EventID == eventID:
				rows++
			case e.Type == "VendorReceipt":
				if src, _ := e.Details["source_event_id"].(string); src == eventID {
					vendor := e.Details["vendor"].(string)
					byVendor[vendor]++
					last[vendor], _ = e.Details["outcome"].(string)
				}
			}
		}
		for _, outcome := range last {
			if outcome == "accepted" {
				jobsOpen++
			}
		}
		return rows, byVendor
	}
	eventually(t, "receipts from every API vendor for both consents", 90*time.Second, func() bool {
		_, h := receipts("http-k1", viaHTTP)
		_, k := receipts("kafka-k1", viaKafka)
		return allOf(toSet(h), apiVendors...) && allOf(toSet(k), apiVendors...)
	})
	eventually(t, "HubSpot unsubscribed the address submitted over Kafka", 60*time.Second, func() bool {
		return hasCall(simCalls(t, s), "hubspot", "POST", p.email+"/unsubscribe-all")
	})
	// Async vendors answer twice (job accepted, then verified), so the two consents'
	// receipts are compared once every job has its verdict, and again after everything
	// has settled: a second delivery of the record written twice would show up as more.
	same := func() (bool, map[string]int, map[string]int) {
		jobsOpen = 0
		_, h := receipts("http-k1", viaHTTP)
		_, k := receipts("kafka-k1", viaKafka)
		for vendor := range mergeKeys(h, k) {
			if h[vendor] != k[vendor] {
				return false, h, k
			}
		}
		return jobsOpen == 0, h, k
	}
	eventually(t, "as many receipts per vendor for the Kafka submission as for the HTTP consent", 90*time.Second, func() bool {
		ok, _, _ := same()
		return ok
	})
	settle(t, s) // the second record, and anything it caused, has been read by everyone

	rows, _ := receipts("kafka-k1", viaKafka)
	if rows != 1 {
		t.Errorf("the submission written twice is %d audit rows, want 1", rows)
	}
	if ok, fromHTTP, fromKafka := same(); !ok {
		t.Errorf("receipts per vendor: %v for the Kafka submission, %v for the same consent over HTTP", fromKafka, fromHTTP)
	}
}

func mergeKeys(a, b map[string]int) map[string]bool {
	out := toSet(a)
	for k := range b {
		out[k] = true
	}
	return out
}

func toSet(m map[string]int) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}
