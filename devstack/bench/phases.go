package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// benchVendors are the ten vendors of the latency phases: every API vendor, two of them
// twice (a second HubSpot portal, a second Amplitude project), as a company with EU and
// US accounts has.
var benchVendors = []string{"hubspot", "hubspot-eu", "amplitude", "amplitude-eu", "posthog", "fullstory",
	"linkedin", "salesforce", "sendgrid", "webhook"}

// rawProduce is the client-side ceiling: kafka-go alone writing Avro-sized records, in
// batches of 100 with acks=all, to the same broker.
func rawProduce(ctx context.Context, s *stack.Stack, n int) (float64, error) {
	admin := kafka.NewAdmin(s.Brokers(), nil)
	defer admin.Close()
	const topic = "bench.raw.v1"
	if err := admin.EnsureTopics(ctx, []kafka.TopicSpec{{Name: topic, Partitions: 6, ReplicationFactor: 1}}); err != nil {
		return 0, err
	}
	transport := &kafkago.Transport{}
	defer transport.CloseIdleConnections()
	w := &kafkago.Writer{Addr: kafkago.TCP(s.Brokers()...), Topic: topic, Balancer: &kafkago.Murmur2Balancer{},
		RequiredAcks: kafkago.RequireAll, BatchTimeout: 5 * time.Millisecond, BatchSize: 500, Transport: transport}
	defer w.Close()
	value := bytes.Repeat([]byte("x"), 300) // the size of a sealed ConsentChanged
	const workers, batch = 4, 100
	var sent atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msgs := make([]kafkago.Message, batch)
			for sent.Add(batch) <= int64(n) {
				for i := range msgs {
					msgs[i] = kafkago.Message{Key: []byte(fmt.Sprintf("subject-%d", i)), Value: value}
				}
				if err := w.WriteMessages(ctx, msgs...); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// rawCopy is the database ceiling for the audit log: pgx.CopyFrom alone, 1,000 rows per
// transaction, into a table shaped like audit.events (same columns and indexes).
func rawCopy(ctx context.Context, s *stack.Stack, n int) (float64, error) {
	conn, err := pgx.Connect(ctx, s.PostgresURL())
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS bench; DROP TABLE IF EXISTS bench.audit_like;
		CREATE TABLE bench.audit_like (LIKE audit.events INCLUDING ALL)`); err != nil {
		return 0, err
	}
	cols := []string{"event_id", "event_type", "tenant", "subject_key", "occurred_at", "recorded_at", "source", "policy_version",
		"topic", "kafka_partition", "kafka_offset", "schema_id", "payload", "details"}
	payload := bytes.Repeat([]byte("x"), 300)
	now := time.Now()
	start := time.Now()
	for done := 0; done < n; done += 1000 {
		rows := make([][]any, 0, 1000)
		for i := done; i < min(n, done+1000); i++ {
			id, _ := eventid.New()
			rows = append(rows, []any{id, "ConsentChanged", "consumer", fmt.Sprintf("%064d", i%5000), now, now, "cmp", "2025-04-09",
				"consent.events.v1", i % 6, int64(i), 101, payload, `{"purposes":{"analytics":"denied"}}`})
		}
		if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"bench", "audit_like"}, cols, pgx.CopyFromRows(rows))
			return err
		}); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

type client struct {
	http *http.Client
	url  string
	key  string
	// idempotent clients send an Idempotency-Key and retry 503s under it; the others
	// fail on the first error, since a retry without a key could ingest a batch twice.
	idempotent bool
	// retries counts the 503s answered with a Retry-After (load shed) and retried.
	retries atomic.Int64
}

func newClient(s *stack.Stack, idempotent bool) *client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return &client{http: &http.Client{Transport: t, Timeout: 30 * time.Second}, url: s.URL("consent-ingest"), key: s.APIKey(),
		idempotent: idempotent}
}

// consent is one benchmark event: analytics, advertising and marketing email denied.
func consent(subject int, at time.Time) map[string]any {
	id := fmt.Sprintf("bench-%05d", subject)
	return map[string]any{
		"tenant": "consumer", "subject_id": id,
		"identifiers": map[string]any{"email": id + "@bench.example", "vendor_ids": map[string]string{"salesforce": "003" + id}},
		"occurred_at": at.UTC().Format(time.RFC3339Nano), "source": schemas.SourceCMP, "policy_version": "2025-04-09",
		"purposes": map[string]string{schemas.PurposeAnalytics: schemas.Denied, schemas.PurposeAdvertising: schemas.Denied, schemas.PurposeMarketingEmail: schemas.Denied},
	}
}

// post sends one batch and returns the event ids.
// post sends a batch. An idempotent client does what a well-behaved producer does: a 503
// (the service shedding load or a dependency down) is retried after its Retry-After,
// under one Idempotency-Key so that a retry of a batch Kafka took after all is not
// ingested twice.
func (c *client) post(ctx context.Context, batch []map[string]any) ([]string, error) {
	body, _ := json.Marshal(map[string]any{"consents": batch})
	key, err := eventid.New()
	if err != nil {
		return nil, err
	}
	var b []byte
	// A saturated pipeline sheds for as long as it is saturated; the client gives up
	// only when a batch could not get in for minutes.
	giveUp := time.Now().Add(3 * time.Minute)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+"/v1/consents", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+c.key)
		req.Header.Set("Content-Type", "application/json")
		if c.idempotent {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, err
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusAccepted {
			break
		}
		if resp.StatusCode != http.StatusServiceUnavailable || !c.idempotent || time.Now().After(giveUp) {
			return nil, fmt.Errorf("POST /v1/consents: %d %s", resp.StatusCode, b)
		}
		c.retries.Add(1)
		wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(max(wait, 1)) * time.Second):
		}
	}
	var out struct {
		EventIDs []string `json:"event_ids"`
	}
	return out.EventIDs, json.Unmarshal(b, &out)
}

// ingestThroughput sends n consents in batches of 100 from 8 concurrent clients, each
// answered only once Kafka acknowledged (acks=all), over 2,000 subjects whose data keys
// the first pass creates.
func ingestThroughput(ctx context.Context, s *stack.Stack, n int, idempotent bool) (float64, error) {
	c := newClient(s, idempotent)
	const batch, workers, subjects = 100, 8, 2000
	send := func(total int) (time.Duration, error) {
		var next atomic.Int64
		errs := make(chan error, workers)
		start := time.Now()
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					first := int(next.Add(batch)) - batch
					if first >= total {
						return
					}
					b := make([]map[string]any, 0, batch)
					for i := first; i < min(total, first+batch); i++ {
						b = append(b, consent(i%subjects, time.Now()))
					}
					if _, err := c.post(ctx, b); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		return time.Since(start), <-errs
	}
	if _, err := send(subjects); err != nil { // warm-up: every subject's data key exists
		return 0, err
	}
	d, err := send(n)
	if err != nil {
		return 0, err
	}
	return float64(n) / d.Seconds(), nil
}

// sent is one event the load generator sent, and when.
type sent struct {
	id string
	at time.Time
}

type latency struct {
	p50, p99    time.Duration
	sentEPS     float64
	deliveries  int
	undelivered int
	// shed counts the requests consent-ingest answered 503 and the client retried.
	shed int64
	// Where the time goes: from sending the event to fan-out having planned its
	// deliveries, and from there to the vendor's call.
	plannedP50, plannedP99, calledP50, calledP99 time.Duration
	// p99ByVendor is the end-to-end p99 of each vendor's deliveries.
	p99ByVendor map[string]time.Duration
}

// latencyPhase sends rate events per second for d (in batches of 10 every 10 ms) and
// measures, for every vendor delivery, the time from sending the event to the vendor's
// first answer to it at the simulator. With blackhole set, that vendor drops every
// connection for the whole phase and its deliveries are left out of the figures.
func latencyPhase(ctx context.Context, s *stack.Stack, rate float64, d time.Duration, blackhole string) (latency, error) {
	return latencyPhaseFor(ctx, s, benchVendors, benchTenant, rate, d, blackhole)
}

// latencyPhaseFor is latencyPhase for events of tenant, which the routing sends to vendors.
func latencyPhaseFor(ctx context.Context, s *stack.Stack, vendors []string, tenant string, rate float64, d time.Duration, blackhole string) (latency, error) {
	sim := s.Simulator
	sim.Reset()
	if blackhole != "" {
		if err := sim.SetFault(vendorsim.Fault{Vendor: blackholeSimVendor(blackhole), Mode: vendorsim.ModeDown}); err != nil {
			return latency{}, err
		}
		defer sim.SetFault(vendorsim.Fault{Vendor: blackholeSimVendor(blackhole), Mode: vendorsim.ModeOK})
	}
	c := newClient(s, true)
	const batch = 10
	tick := time.Duration(float64(time.Second) * batch / rate)
	var (
		mu     sync.Mutex
		events []sent
		wg     sync.WaitGroup
		failed atomic.Int64
		// firstErr says why, which the count alone does not.
		firstErr atomic.Pointer[error]
	)
	start := time.Now()
	t := time.NewTicker(tick)
	subject := 0
	for time.Since(start) < d && ctx.Err() == nil {
		<-t.C
		b := make([]map[string]any, batch)
		for i := range b {
			b[i] = consent(subject%20000, time.Now())
			b[i]["tenant"] = tenant
			subject++
		}
		wg.Add(1)
		go func(at time.Time) {
			defer wg.Done()
			ids, err := c.post(ctx, b)
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, &err)
				return
			}
			mu.Lock()
			for _, id := range ids {
				events = append(events, sent{id, at})
			}
			mu.Unlock()
		}(time.Now())
	}
	t.Stop()
	sending := time.Since(start) // the offered load's window; answers may come later
	wg.Wait()
	sentEPS := float64(len(events)) / sending.Seconds()
	if failed.Load() > 0 {
		return latency{}, fmt.Errorf("%d batches failed, the first with: %w", failed.Load(), *firstErr.Load())
	}

	// Wait for the deliveries to arrive (or give up after a minute: what is late is
	// reported as undelivered, not waited for forever).
	keys := map[string]time.Time{}  // idempotency key → when its event was sent
	delivery := map[string]string{} // idempotency key → event id + "/" + vendor
	for _, e := range events {
		for _, v := range vendors {
			if v == blackhole {
				continue
			}
			k, _ := eventid.Derive(e.id, "delivery/"+v+"/"+actionOf(v))
			keys[k], delivery[k] = e.at, e.id+"/"+v
		}
	}
	deadline := time.Now().Add(time.Minute)
	var (
		lat       []time.Duration
		firstCall map[string]time.Time
	)
	seen := map[string]time.Time{} // idempotency key → the vendor's first 2xx answer
	for scanned := 0; ; {
		var calls []vendorsim.Call
		calls, scanned = sim.CallsFrom(scanned)
		for _, call := range calls {
			if _, ok := keys[call.IdempotencyKey]; ok && call.Status >= 200 && call.Status < 300 {
				if first, ok := seen[call.IdempotencyKey]; !ok || call.At.Before(first) {
					seen[call.IdempotencyKey] = call.At
				}
			}
		}
		if len(seen) == len(keys) || time.Now().After(deadline) {
			lat = lat[:0]
			for k, at := range seen {
				lat = append(lat, at.Sub(keys[k]))
			}
			firstCall = seen
			break
		}
		if !pause(ctx, 500*time.Millisecond) {
			return latency{}, ctx.Err()
		}
	}
	if len(lat) == 0 {
		return latency{sentEPS: sentEPS, undelivered: len(keys), shed: c.retries.Load()}, nil
	}
	out := latency{sentEPS: sentEPS, deliveries: len(lat), undelivered: len(keys) - len(lat), shed: c.retries.Load(),
		p99ByVendor: map[string]time.Duration{}}
	out.p50, out.p99 = percentiles(lat)
	byVendor := map[string][]time.Duration{}
	for k, at := range firstCall {
		_, v, _ := strings.Cut(delivery[k], "/")
		byVendor[v] = append(byVendor[v], at.Sub(keys[k]))
	}
	for v, d := range byVendor {
		_, out.p99ByVendor[v] = percentiles(d)
	}
	planned, err := plannedAt(ctx, s, events)
	if err != nil {
		return out, err
	}
	var toPlan, toCall []time.Duration
	for k, at := range firstCall {
		if p, ok := planned[delivery[k]]; ok {
			toPlan, toCall = append(toPlan, p.Sub(keys[k])), append(toCall, at.Sub(p))
		}
	}
	out.plannedP50, out.plannedP99 = percentiles(toPlan)
	out.calledP50, out.calledP99 = percentiles(toCall)
	return out, nil
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	pct := func(p float64) time.Duration { return d[min(len(d)-1, int(float64(len(d))*p))] }
	return pct(0.50), pct(0.99)
}

// plannedAt returns when fan-out planned each delivery of events, by event id + "/" +
// vendor instance.
func plannedAt(ctx context.Context, s *stack.Stack, events []sent) (map[string]time.Time, error) {
	conn, err := pgx.Connect(ctx, s.PostgresURL())
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.id
	}
	rows, err := conn.Query(ctx, `SELECT event_id::text, instance, created_at FROM fanout.deliveries WHERE event_id = ANY($1::uuid[])`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id, instance string
		var at time.Time
		if err := rows.Scan(&id, &instance, &at); err != nil {
			return nil, err
		}
		out[id+"/"+instance] = at
	}
	return out, rows.Err()
}

// actionOf is each benchmark vendor's action in the bench routing.
func actionOf(vendor string) string {
	switch typeOf(vendor) {
	case "amplitude", "posthog", "fullstory":
		return schemas.ActionDeleteUser
	case "sendgrid":
		return schemas.ActionSuppressEmail
	}
	return schemas.ActionOptOut
}

// blackholeSimVendor is the simulator prefix serving an instance.
func blackholeSimVendor(instance string) string {
	switch instance {
	case "hubspot-eu":
		return "hubspot"
	case "amplitude-eu":
		return "amplitude"
	}
	return instance
}

// auditThroughput produces n receipts straight to the receipts topic — which only
// audit-sink reads — and measures how fast audit-sink makes them audit rows.
func auditThroughput(ctx context.Context, s *stack.Stack, n int) (float64, error) {
	client, err := serde.NewClient(s.RegistryURL(), "", "", "", nil)
	if err != nil {
		return 0, err
	}
	t := s.Topics()
	sd, err := serde.New(ctx, serde.Config{Client: client, Writes: map[string]string{t.Receipts: schemas.VendorReceiptName}})
	if err != nil {
		return 0, err
	}
	msgs := make([]kafka.Message, n)
	now := time.Now().UTC()
	for i := range msgs {
		id, _ := eventid.New()
		src, _ := eventid.New()
		key := fmt.Sprintf("%064d", i%5000)
		if msgs[i], err = sd.EncodeMessage(t.Receipts, key, &schemas.VendorReceipt{
			Header: schemas.Header{EventID: id, Tenant: "consumer", SubjectKey: key, OccurredAt: now, RecordedAt: now,
				Source: "bench", PolicyVersion: "2025-04-09"},
			SourceEventID: src, Vendor: "hubspot", Action: schemas.ActionOptOut, Outcome: "delivered", Attempts: 1, HTTPStatus: 200,
		}); err != nil {
			return 0, err
		}
	}
	p, err := kafka.NewProducer(kafka.ProducerConfig{Brokers: s.Brokers()})
	if err != nil {
		return 0, err
	}
	defer p.Close()
	admin := kafka.NewAdmin(s.Brokers(), nil)
	defer admin.Close()
	start := time.Now()
	for i := 0; i < n; i += 1000 {
		if err := p.Publish(ctx, msgs[i:min(n, i+1000)]...); err != nil {
			return 0, err
		}
	}
	// Done is audit-sink's group having committed everything: it commits only after its
	// rows are durable. Watching the group rather than counting rows keeps the
	// measurement's own queries off the database being measured.
	// A slower machine takes longer, which is the figure; only a group that stopped
	// committing for minutes ends the phase.
	least, progressAt := int64(-1), start
	for {
		lags, err := admin.Lag(ctx, "audit-sink", t.Receipts)
		if err != nil {
			return 0, err
		}
		behind := int64(0)
		for _, l := range lags {
			behind += l.Lag
		}
		if behind == 0 {
			break
		}
		if least < 0 || behind < least {
			least, progressAt = behind, time.Now()
		}
		if time.Since(progressAt) > 2*time.Minute {
			return 0, fmt.Errorf("audit-sink is %d receipts behind and committed nothing for 2 minutes", behind)
		}
		if !pause(ctx, 20*time.Millisecond) {
			return 0, ctx.Err()
		}
	}
	rps := float64(n) / time.Since(start).Seconds()
	conn, err := pgx.Connect(ctx, s.PostgresURL())
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var rows int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM audit.events WHERE event_type = 'VendorReceipt' AND source = 'bench'`).Scan(&rows); err != nil {
		return 0, err
	}
	if rows != n {
		return 0, fmt.Errorf("audit-sink committed every receipt but the log holds %d of %d", rows, n)
	}
	return rps, nil
}

// Unsettled is a wait for the stack to settle that ran out: what was still queued when
// the bench went on to the next phase, whose figures it may have weighed on.
type Unsettled struct {
	// After is the phase whose backlog it was.
	After string `json:"after"`
	// PendingDeliveries and ConsumerLag are what remained.
	PendingDeliveries int   `json:"pending_deliveries"`
	ConsumerLag       int64 `json:"consumer_lag"`
	// DrainPerSecond is the rate at which pending deliveries were going down.
	DrainPerSecond float64 `json:"drain_per_second"`
	WaitedS        float64 `json:"waited_s"`
	Reason         string  `json:"reason"`
}

// settlePolicy bounds a settle wait by what the machine shows rather than by a fixed
// clock: a slower machine drains the same backlog more slowly and is given the time to,
// while a stack that has stopped draining does not hold the run.
type settlePolicy struct {
	// Min is what the wait is given before any drain has been measured.
	Min time.Duration
	// Factor and Slack turn the measured drain into a deadline, moved at every look
	// while the backlog goes down: now + Factor × the time the pending deliveries
	// need at the rate they have drained since their peak + Slack.
	Factor float64
	Slack  time.Duration
	// Stall gives up when neither the pending deliveries nor the consumer lag went
	// down for this long: the stack is stuck, not slow.
	Stall time.Duration
	// Max gives up whatever the drain: a trickle must not hold the run for hours.
	Max time.Duration
	// Poll is the interval between looks.
	Poll time.Duration
}

func defaultSettle(min time.Duration) settlePolicy {
	return settlePolicy{Min: min, Factor: 2, Slack: time.Minute, Stall: 5 * time.Minute, Max: 2 * time.Hour, Poll: time.Second}
}

// backlog is one look at what the stack still has to do.
type backlog struct {
	pending int
	lag     int64
}

// settle waits until vendor-fanout has no pending deliveries and no consumer lags, so
// one phase's backlog does not weigh on the next. A wait that runs out is returned as an
// Unsettled for the results, not as an error: the figures already measured stand, and
// the report says what the next phase ran beside. The error is for a failed look or a
// cancelled run.
func settle(ctx context.Context, s *stack.Stack, after string, min time.Duration) (*Unsettled, error) {
	admin := kafka.NewAdmin(s.Brokers(), nil)
	defer admin.Close()
	conn, err := pgx.Connect(ctx, s.PostgresURL())
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	t := s.Topics()
	look := func() (backlog, error) {
		var b backlog
		for group, topics := range map[string][]string{"audit-sink": {t.Consents, t.Suppressions, t.Receipts},
			"vendor-fanout": {t.Consents}, "unsubscribe-handler": {t.Consents}} {
			lags, err := admin.Lag(ctx, group, topics...)
			if err != nil {
				return b, err
			}
			for _, l := range lags {
				b.lag += l.Lag
			}
		}
		// An async vendor's job being checked (polling) is work in flight too: a phase
		// that began beside it would share the lane with its polls.
		err := conn.QueryRow(ctx, `SELECT count(*) FROM fanout.deliveries WHERE state IN ('pending', 'polling')`).Scan(&b.pending)
		return b, err
	}
	u, err := waitSettled(ctx, defaultSettle(min), time.Now, look)
	if u != nil {
		u.After = after
	}
	return u, err
}

// waitSettled looks until the backlog is empty, or until p gives up on it.
func waitSettled(ctx context.Context, p settlePolicy, now func() time.Time, look func() (backlog, error)) (*Unsettled, error) {
	start := now()
	deadline := start.Add(p.Min)
	var (
		peak       int // the most pending deliveries seen, and when: the drain is measured from there
		peakAt     = start
		prev       = backlog{pending: -1, lag: -1}
		progressAt = start
		rate       float64
	)
	for {
		b, err := look()
		if err != nil {
			return nil, err
		}
		if b.pending == 0 && b.lag == 0 {
			return nil, nil
		}
		at := now()
		if b.pending >= peak {
			peak, peakAt = b.pending, at
		} else if d := at.Sub(peakAt).Seconds(); d > 0 {
			rate = float64(peak-b.pending) / d
		}
		// Pending deliveries rise only while vendor-fanout consumes the lag, so one of
		// the two going down is the stack at work.
		if (prev.pending >= 0 && b.pending < prev.pending) || (prev.lag >= 0 && b.lag < prev.lag) {
			progressAt = at
		}
		prev = b
		if rate > 0 && b.pending > 0 {
			need := time.Duration(p.Factor * float64(b.pending) / rate * float64(time.Second))
			if d := at.Add(need + p.Slack); d.After(deadline) && progressAt == at {
				deadline = d
			}
		}
		unsettled := func(reason string) *Unsettled {
			return &Unsettled{PendingDeliveries: b.pending, ConsumerLag: b.lag, DrainPerSecond: rate,
				WaitedS: at.Sub(start).Seconds(), Reason: reason}
		}
		switch {
		case at.Sub(progressAt) >= p.Stall:
			return unsettled(fmt.Sprintf("nothing drained for %v", p.Stall)), nil
		case at.Sub(start) >= p.Max:
			return unsettled(fmt.Sprintf("still draining after %v", p.Max)), nil
		case at.After(deadline) && rate == 0:
			return unsettled(fmt.Sprintf("nothing drained in %v", p.Min)), nil
		case at.After(deadline):
			return unsettled("the drain slowed past twice its measured pace"), nil
		}
		if !pause(ctx, p.Poll) {
			return nil, ctx.Err()
		}
	}
}

// pause waits d, or less when ctx ends first (an interrupted run stops at once and takes
// its services down with it).
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
