package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/consentry/consentry/devkit/vendorsim"
	"github.com/consentry/consentry/devstack/stack"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/serde"
	"github.com/consentry/consentry/schemas"
)

// Invariant is the verdict on one invariant of docs/kafka-postgres.md §10.
type Invariant struct {
	Name       string   `json:"name"`
	Holds      bool     `json:"holds"`
	Checked    int      `json:"checked"`
	Violations []string `json:"violations,omitempty"`
	Note       string   `json:"note,omitempty"`
}

func (i *Invariant) violate(format string, args ...any) {
	i.Holds = false
	if len(i.Violations) < 20 {
		i.Violations = append(i.Violations, fmt.Sprintf(format, args...))
	}
}

// groups are the consumer groups and the topics each consumes.
func groups(t kafka.Topics) map[string][]string {
	return map[string][]string{
		"audit-sink":          {t.Consents, t.Requests, t.Suppressions, t.Receipts},
		"vendor-fanout":       {t.Consents, t.Requests},
		"unsubscribe-handler": {t.Consents, t.Requests},
	}
}

// observed is everything the checks read once the system is quiet.
type observed struct {
	audit      map[string]auditRow // by event id
	consentLog map[string][]auditRow
	receipts   map[string]bool // source event/vendor/action
	deliveries []deliveryRow
	decisions  map[string]bool
	calls      []vendorsim.Call
	records    map[string][]kafka.Message // every record of every canonical and DLQ topic
	committed  map[string]map[string]map[int]int64
}

type auditRow struct {
	eventType  string
	subjectKey string
	topic      string
	partition  int
	offset     int64
	occurredAt time.Time
}

type deliveryRow struct {
	id                      int64
	eventID, vendor, action string
	state, outcome          string
}

// quiesce waits until consumers have no lag, lanes no pending work, the outbox is empty
// and every accepted event is audited — the system at rest (I6) — and says how long it
// took.
func quiesce(ctx context.Context, s *stack.Stack, accepted []Accepted, timeout time.Duration) (time.Duration, string) {
	start := time.Now()
	admin := kafka.NewAdmin(s.Brokers(), nil)
	defer admin.Close()
	var reason string
	for time.Since(start) < timeout {
		reason = busy(ctx, s, admin, accepted)
		if reason == "" {
			return time.Since(start), ""
		}
		time.Sleep(500 * time.Millisecond)
	}
	return time.Since(start), reason
}

func busy(ctx context.Context, s *stack.Stack, admin *kafka.Admin, accepted []Accepted) string {
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for group, topics := range groups(s.Topics()) {
		lags, err := admin.Lag(qctx, group, topics...)
		if err != nil {
			return "lag of " + group + ": " + err.Error()
		}
		for _, l := range lags {
			if l.Lag != 0 {
				state, members, err := admin.DescribeGroup(qctx, group)
				return fmt.Sprintf("%s lags %d on %s/%d (group %s, members %+v, %v)", group, l.Lag, l.Topic, l.Partition, state, members, err)
			}
		}
	}
	conn, err := pgx.Connect(qctx, s.PostgresURL())
	if err != nil {
		return "database: " + err.Error()
	}
	defer conn.Close(qctx)
	var unfinished, outbox int
	if err := conn.QueryRow(qctx, `SELECT (SELECT count(*) FROM fanout.deliveries WHERE state IN ('pending', 'polling')),
		(SELECT count(*) FROM fanout.outbox)`).Scan(&unfinished, &outbox); err != nil {
		return "database: " + err.Error()
	}
	if unfinished+outbox > 0 {
		return fmt.Sprintf("%d deliveries unfinished, %d receipts in the outbox", unfinished, outbox)
	}
	ids := make([]string, len(accepted))
	for i, a := range accepted {
		ids[i] = a.EventID
	}
	var audited int
	if err := conn.QueryRow(qctx, `SELECT count(*) FROM audit.events WHERE event_id = ANY($1::uuid[])`, ids).Scan(&audited); err != nil {
		return "database: " + err.Error()
	}
	if audited != len(accepted) {
		return fmt.Sprintf("%d of %d accepted events audited", audited, len(accepted))
	}
	return ""
}

// observe reads the database, the topics, the committed offsets and the simulator.
func observe(ctx context.Context, s *stack.Stack) (*observed, error) {
	o := &observed{audit: map[string]auditRow{}, consentLog: map[string][]auditRow{}, receipts: map[string]bool{},
		decisions: map[string]bool{}, records: map[string][]kafka.Message{}, committed: map[string]map[string]map[int]int64{}}
	conn, err := pgx.Connect(ctx, s.PostgresURL())
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT event_id::text, event_type, coalesce(subject_key, ''), topic, kafka_partition, kafka_offset,
		coalesce(occurred_at, 'epoch'), coalesce(source_event_id::text, ''), coalesce(details->>'vendor', ''), coalesce(details->>'action', '')
		FROM audit.events ORDER BY topic, kafka_partition, kafka_offset`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var (
			id, source, vendor, action string
			r                          auditRow
		)
		if err := rows.Scan(&id, &r.eventType, &r.subjectKey, &r.topic, &r.partition, &r.offset, &r.occurredAt, &source, &vendor, &action); err != nil {
			return nil, err
		}
		o.audit[id] = r
		switch r.eventType {
		case "ConsentChanged":
			o.consentLog[r.subjectKey] = append(o.consentLog[r.subjectKey], r)
		case "VendorReceipt":
			o.receipts[source+"/"+vendor+"/"+action] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	drows, err := conn.Query(ctx, `SELECT id, event_id::text, instance, action, state, coalesce(outcome, '') FROM fanout.deliveries ORDER BY id`)
	if err != nil {
		return nil, err
	}
	o.deliveries, err = pgx.CollectRows(drows, func(r pgx.CollectableRow) (deliveryRow, error) {
		var d deliveryRow
		err := r.Scan(&d.id, &d.eventID, &d.vendor, &d.action, &d.state, &d.outcome)
		return d, err
	})
	if err != nil {
		return nil, err
	}
	ids, err := conn.Query(ctx, `SELECT event_id::text FROM fanout.decisions`)
	if err != nil {
		return nil, err
	}
	decided, err := pgx.CollectRows(ids, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	for _, id := range decided {
		o.decisions[id] = true
	}

	t := s.Topics()
	admin := kafka.NewAdmin(s.Brokers(), nil)
	defer admin.Close()
	for _, topic := range []string{t.Consents, t.Requests, t.Suppressions, t.Receipts} {
		for _, name := range []string{topic, kafka.DeadLetterTopic(topic)} {
			if o.records[name], err = readTopic(ctx, s.Brokers(), name); err != nil {
				return nil, err
			}
		}
	}
	for group, topics := range groups(t) {
		lags, err := admin.Lag(ctx, group, topics...)
		if err != nil {
			return nil, err
		}
		o.committed[group] = map[string]map[int]int64{}
		for _, l := range lags {
			if o.committed[group][l.Topic] == nil {
				o.committed[group][l.Topic] = map[int]int64{}
			}
			o.committed[group][l.Topic][l.Partition] = l.Committed
		}
	}
	o.calls = s.Simulator.Calls()
	return o, nil
}

// readTopic reads every record of every partition of topic.
func readTopic(ctx context.Context, brokers []string, topic string) ([]kafka.Message, error) {
	conn, err := kafkago.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		return nil, err
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		return nil, err
	}
	var out []kafka.Message
	for _, p := range parts {
		lc, err := kafkago.DialLeader(ctx, "tcp", brokers[0], topic, p.ID)
		if err != nil {
			return nil, err
		}
		first, last, err := lc.ReadOffsets()
		lc.Close()
		if err != nil {
			return nil, err
		}
		if last <= first {
			continue
		}
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p.ID, MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond})
		if err := r.SetOffset(first); err != nil {
			r.Close()
			return nil, err
		}
		for {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			m, err := r.ReadMessage(rctx)
			cancel()
			if err != nil {
				r.Close()
				return nil, fmt.Errorf("reading %s/%d: %w", topic, p.ID, err)
			}
			out = append(out, m)
			if m.Offset >= last-1 {
				break
			}
		}
		r.Close()
	}
	return out, nil
}

// deliveryKey is the Idempotency-Key vendor-fanout sends for a delivery (its contract:
// stable per event, vendor and action).
func deliveryKey(eventID, vendor, action string) string {
	k, _ := eventid.Derive(eventID, "delivery/"+vendor+"/"+action)
	return k
}

// check evaluates the invariants over what was observed.
func check(ctx context.Context, s *stack.Stack, r *run, accepted []Accepted, o *observed) ([]Invariant, error) {
	client, err := serde.NewClient(s.RegistryURL(), "", "", "", nil)
	if err != nil {
		return nil, err
	}
	sd, err := serde.New(ctx, serde.Config{Client: client})
	if err != nil {
		return nil, err
	}
	byEvent := map[string][]deliveryRow{}
	for _, d := range o.deliveries {
		byEvent[d.eventID] = append(byEvent[d.eventID], d)
	}
	keyed := map[string][]vendorsim.Call{}
	for _, c := range o.calls {
		if c.IdempotencyKey != "" {
			keyed[c.IdempotencyKey] = append(keyed[c.IdempotencyKey], c)
		}
	}

	// I1: every accepted event is audited once and each vendor action it requires ended
	// in a terminal state with its receipt in the audit log.
	i1 := Invariant{Name: "I1 every accepted event audited once, every action terminal with a receipt", Holds: true}
	for _, a := range accepted {
		i1.Checked++
		if _, ok := o.audit[a.EventID]; !ok {
			i1.violate("event %s (%s, %s) is not in the audit log", a.EventID, a.Kind, a.Subject)
		}
		rows := map[string]deliveryRow{}
		for _, d := range byEvent[a.EventID] {
			rows[d.vendor+"/"+d.action] = d
		}
		for _, want := range expected(a) {
			d, ok := rows[want.vendor+"/"+want.action]
			switch {
			case !ok:
				i1.violate("event %s: no %s %s delivery was planned", a.EventID, want.vendor, want.action)
			case d.state != "done" && d.state != "dead":
				i1.violate("event %s: %s %s is %s, not terminal", a.EventID, want.vendor, want.action, d.state)
			case !o.receipts[a.EventID+"/"+want.vendor+"/"+want.action]:
				i1.violate("event %s: %s %s (%s) has no receipt in the audit log", a.EventID, want.vendor, want.action, d.outcome)
			}
		}
	}

	// I2: every delivered action reached the vendor, and no idempotency key carried two
	// different payloads.
	i2 := Invariant{Name: "I2 every delivered action seen by the vendor; one payload per idempotency key", Holds: true}
	for key, calls := range keyed {
		i2.Checked++
		bodies := map[string]bool{}
		for _, c := range calls {
			bodies[c.BodySHA256] = true
		}
		if len(bodies) > 1 {
			i2.violate("idempotency key %s carried %d different payloads", key, len(bodies))
		}
	}
	for _, d := range o.deliveries {
		if d.state != "done" || d.outcome == "already_done" || d.outcome == "skipped" || d.outcome == "dead_lettered" {
			continue // already done at the vendor: its answer is the proof, no keyed call needed
		}
		if d.outcome == "unverifiable" && !answered(keyed[deliveryKey(d.eventID, d.vendor, d.action)]) {
			// Not a claim of delivery: an erasure's action whose subject's key was already
			// destroyed (a second erasure, a replay after shredding) has nothing to send.
			continue
		}
		if !answered(keyed[deliveryKey(d.eventID, d.vendor, d.action)]) {
			i2.violate("%s %s for %s is %s but the vendor never answered it", d.vendor, d.action, d.eventID, d.outcome)
		}
	}

	// I3: per subject, order is kept: in the audit log (offsets follow the order events
	// were sent) and at each vendor (first calls follow the order of the events).
	i3 := Invariant{Name: "I3 per-subject order in the audit log and at every vendor", Holds: true}
	bySubject := map[string][]Accepted{}
	for _, a := range accepted {
		bySubject[a.Subject] = append(bySubject[a.Subject], a)
	}
	for subject, events := range bySubject {
		sort.Slice(events, func(i, j int) bool { return events[i].Seq < events[j].Seq })
		var last auditRow
		for _, a := range events {
			row, ok := o.audit[a.EventID]
			if !ok || a.Kind != "consent" {
				continue
			}
			i3.Checked++
			if last.topic != "" && (row.partition != last.partition || row.offset < last.offset) {
				i3.violate("%s: event %d is at %s/%d/%d, before the previous one at %d/%d", subject, a.Seq, row.topic, row.partition, row.offset, last.partition, last.offset)
			}
			last = row
		}
		// Kafka orders per partition of one topic (docs/architecture.md: "per subject, by partition"),
		// so order is checked among events of the same topic: consents among consents,
		// requests among requests.
		for _, v := range vendors {
			var (
				lastCall = map[string]time.Time{}
				lastID   = map[string]string{}
			)
			for _, a := range events {
				for _, want := range expected(a) {
					if want.vendor != v {
						continue
					}
					first, ok := firstAnswer(keyed[deliveryKey(a.EventID, v, want.action)])
					if !ok {
						continue
					}
					if first.Before(lastCall[a.Kind]) {
						i3.violate("%s at %s: %s %d (%s, delivery %s, first answered %s) before the previous one (%s, first answered %s)",
							subject, v, a.Kind, a.Seq, a.EventID, deliveryIDs(byEvent[a.EventID], v), first.Format("15:04:05.000"),
							lastID[a.Kind], lastCall[a.Kind].Format("15:04:05.000"))
					}
					lastCall[a.Kind], lastID[a.Kind] = first, a.EventID
				}
			}
		}
	}

	// I5: no consumer committed past a record it had not processed.
	i5 := Invariant{Name: "I5 committed offsets never pass unprocessed records", Holds: true}
	dlq := map[string]bool{}     // group/topic/partition/offset of every dead-lettered record
	dlqCount := map[string]int{} // group/topic → distinct records dead-lettered
	for _, msgs := range o.records {
		for _, m := range msgs {
			src := kafka.HeaderValue(m, kafka.HeaderDLQTopic)
			if src == "" {
				continue // a record of a source topic
			}
			group := kafka.HeaderValue(m, kafka.HeaderDLQGroup)
			key := group + "/" + src + "/" + kafka.HeaderValue(m, kafka.HeaderDLQPartition) + "/" + kafka.HeaderValue(m, kafka.HeaderDLQOffset)
			if !dlq[key] {
				dlq[key] = true
				dlqCount[group+"/"+src]++
			}
		}
	}
	for group, topics := range groups(s.Topics()) {
		for _, topic := range topics {
			for _, m := range o.records[topic] {
				if m.Offset >= o.committed[group][topic][m.Partition] {
					continue
				}
				i5.Checked++
				if dlq[fmt.Sprintf("%s/%s/%d/%d", group, topic, m.Partition, m.Offset)] {
					continue
				}
				id, fanoutID := recordID(ctx, sd, m)
				processed := o.audit[id].topic != ""
				if group == "vendor-fanout" {
					processed = o.decisions[fanoutID] || fanoutID == ""
				}
				if group == "unsubscribe-handler" {
					processed = true // its effect is state, not a row per record; I1 covers its output via the audit log
				}
				if !processed {
					i5.violate("%s committed %s/%d past offset %d (event %s) without processing it", group, topic, m.Partition, m.Offset, id)
				}
			}
		}
	}

	i4, err := chains(ctx, s)
	if err != nil {
		return nil, err
	}
	invariants := []Invariant{i1, i2, i3, i4, i5}

	// C6: every poison record was dead-lettered by every group that reads its topic.
	if len(r.poisoned) > 0 {
		inv := Invariant{Name: "C6 every poison record dead-lettered by every consumer of its topic", Holds: true}
		for group, topics := range groups(s.Topics()) {
			for _, topic := range topics {
				n := dlqCount[group+"/"+topic]
				inv.Checked++
				if n < r.poisoned[topic] {
					inv.violate("%s dead-lettered %d records of %s, %d poison records were written", group, n, topic, r.poisoned[topic])
				}
			}
		}
		invariants = append(invariants, inv)
	}

	// I7: while one vendor was down alone, the others were as fast as before.
	if r.outage.vendor != "" {
		invariants = append(invariants, isolation(r, accepted, keyed))
	}
	return invariants, nil
}

func answered(calls []vendorsim.Call) bool {
	_, ok := firstAnswer(calls)
	return ok
}

// firstAnswer is when a vendor first answered a call (any status but a dropped
// connection: a 5xx still shows the call arrived in order).
func firstAnswer(calls []vendorsim.Call) (time.Time, bool) {
	var first time.Time
	for _, c := range calls {
		if c.Status != 0 && (first.IsZero() || c.At.Before(first)) {
			first = c.At
		}
	}
	return first, !first.IsZero()
}

// recordID is the event id of a record — from its value, or, for a tombstone, from its
// header or position — as audit-sink names it; and the id vendor-fanout records it
// under: a request's id for the in_progress event it acts on, "" for a record it keeps
// nothing of (a request's other statuses).
func recordID(ctx context.Context, sd *serde.Serde, m kafka.Message) (id, fanoutID string) {
	if m.Value == nil {
		if id := kafka.HeaderValue(m, kafka.HeaderEventID); id != "" {
			return id, id
		}
		id := eventid.FromPosition(m.Topic, m.Partition, m.Offset)
		return id, id
	}
	e, _, err := sd.Decode(ctx, m.Value)
	if err != nil {
		return "", ""
	}
	id = e.EventHeader().EventID
	if pr, ok := e.(*schemas.PrivacyRequest); ok {
		if pr.Status != schemas.StatusInProgress {
			return id, ""
		}
		return id, pr.RequestID
	}
	return id, id
}

// isolation compares the other vendors' delivery latency while vendor A was down alone
// with their latency before any fault.
func isolation(r *run, accepted []Accepted, keyed map[string][]vendorsim.Call) Invariant {
	inv := Invariant{Name: "I7 a vendor outage does not delay the other vendors", Holds: true}
	var before, during []time.Duration
	for _, a := range accepted {
		for _, want := range expected(a) {
			if want.vendor == r.outage.vendor {
				continue
			}
			first, ok := firstAnswer(keyed[deliveryKey(a.EventID, want.vendor, want.action)])
			if !ok {
				continue
			}
			lat := first.Sub(a.AcceptedAt)
			switch {
			case a.AcceptedAt.Before(r.outage.start):
				before = append(before, lat)
			case a.AcceptedAt.Before(r.outage.end.Add(-time.Second)):
				during = append(during, lat)
			}
		}
	}
	inv.Checked = len(before) + len(during)
	if len(before) < 5 || len(during) < 5 {
		inv.Note = fmt.Sprintf("too few deliveries to compare (%d before, %d during)", len(before), len(during))
		return inv
	}
	b, d := percentile(before, 0.95), percentile(during, 0.95)
	inv.Note = fmt.Sprintf("p95 of the other vendors: %v before, %v while %s was down (%d and %d deliveries)",
		b.Round(time.Millisecond), d.Round(time.Millisecond), r.outage.vendor, len(before), len(during))
	if d > max(3*b, b+2*time.Second) {
		inv.violate("%s", inv.Note)
	}
	return inv
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func deliveryIDs(ds []deliveryRow, vendor string) string {
	var out []string
	for _, d := range ds {
		if d.vendor == vendor {
			out = append(out, fmt.Sprintf("#%d %s/%s", d.id, d.state, d.outcome))
		}
	}
	return fmt.Sprint(out)
}

// chains asks audit-sink to recompute every hash chain of the audit log, as an operator
// would (GET /v1/audit/verify): each chain must verify to its head, no row unchained.
func chains(ctx context.Context, s *stack.Stack) (Invariant, error) {
	inv := Invariant{Name: "I4 every hash chain verifies", Holds: true}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL("audit-sink")+"/v1/audit/verify", nil)
	if err != nil {
		return inv, err
	}
	req.Header.Set("Authorization", "Bearer "+s.OperatorKey())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return inv, fmt.Errorf("verifying the audit chains: %w", err)
	}
	defer resp.Body.Close()
	var report struct {
		OK            bool  `json:"ok"`
		Rows          int   `json:"rows"`
		UnchainedRows int64 `json:"unchained_rows"`
		Chains        []struct {
			Chain string `json:"chain"`
			Break *struct {
				ChainSeq int64  `json:"chain_seq"`
				Kind     string `json:"kind"`
				EventID  string `json:"event_id"`
			} `json:"break"`
		} `json:"chains"`
	}
	if resp.StatusCode != http.StatusOK {
		return inv, fmt.Errorf("verifying the audit chains: HTTP %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&report); err != nil {
		return inv, fmt.Errorf("verifying the audit chains: %w", err)
	}
	inv.Checked = report.Rows
	for _, c := range report.Chains {
		if c.Break != nil {
			inv.violate("%s broken at chain_seq %d: %s (event %s)", c.Chain, c.Break.ChainSeq, c.Break.Kind, c.Break.EventID)
		}
	}
	if report.UnchainedRows > 0 {
		inv.violate("%d audit rows are on no chain", report.UnchainedRows)
	}
	if !report.OK && inv.Holds {
		inv.violate("audit-sink reports the log does not verify")
	}
	return inv, nil
}
