// Package devregistry runs the in-process schema registry of the embedded stack and the
// tests: franz-go's srfake, seeded with every released version of every schema.
//
// Seeding uses fixed ids (100 per record type, plus the version) so that records written
// in one run of the stack still decode after the next start: srfake keeps nothing on disk.
package devregistry

import (
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/serde"
	"github.com/consentry/consentry/schemas"
)

var baseIDs = map[string]int{
	schemas.ConsentChangedName:     100,
	schemas.PrivacyRequestName:     200,
	schemas.SuppressionChangedName: 300,
	schemas.VendorReceiptName:      400,
	schemas.ConsentSubmissionName:  500,
}

// Seed registers every released schema version under its topic's subject.
func Seed(reg *srfake.Registry, topics kafka.Topics) error {
	byTopic := serde.RecordsByTopic(topics)
	// Not an event topic, so not in RecordsByTopic: product services write submissions
	// there, and consent-ingest reads them.
	byTopic[topics.Ingest] = schemas.ConsentSubmissionName
	names := make([]string, 0, len(byTopic))
	for topic := range byTopic {
		names = append(names, topic)
	}
	sort.Strings(names)
	for _, topic := range names {
		record := byTopic[topic]
		base, ok := baseIDs[record]
		if !ok {
			return fmt.Errorf("devregistry: no id range for %s", record)
		}
		history, err := schemas.History(record)
		if err != nil {
			return err
		}
		for i, s := range history {
			version := i + 1
			reg.SeedSchema(serde.SubjectFor(topic), version, base+version, sr.Schema{Schema: s.Text, Type: sr.TypeAvro})
		}
	}
	return nil
}

// New returns a registry served on a random local port, seeded for topics.
func New(topics kafka.Topics) (*srfake.Registry, error) {
	reg := srfake.New()
	if err := Seed(reg, topics); err != nil {
		reg.Close()
		return nil, err
	}
	return reg, nil
}
