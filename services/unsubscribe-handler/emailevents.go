package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/apikey"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/platform/server"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/emailevents"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/postgres"
)

// postEmailEvents takes bounces and spam complaints from the email platform, in the
// simple documented shape or SendGrid's Event Webhook shape (?format=simple|sendgrid, or
// sniffed; SendGrid's events carry no tenant, so ?tenant= names it). Each hard bounce or
// complaint suppresses its address for the tenant, through the same transaction as every
// other suppression; an address already suppressed is left as it is.
func (a *api) postEmailEvents(w http.ResponseWriter, r *http.Request) {
	body, err := server.ReadBody(w, r, 2<<20)
	if err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	q := r.URL.Query()
	format := q.Get("format")
	if format == "" {
		format = emailevents.Sniff(body)
	}
	var batch emailevents.Batch
	source := "email_events"
	switch format {
	case emailevents.Simple:
		batch, err = emailevents.ParseSimple(body)
	case emailevents.SendGrid:
		source = "sendgrid"
		tenant := q.Get("tenant")
		if tenant == "" {
			err = apierror.Fields([]apierror.FieldError{{Field: "tenant", Message: "is required as a query parameter for SendGrid events"}})
			break
		}
		batch, err = emailevents.ParseSendGrid(body, tenant)
	default:
		err = apierror.Fields([]apierror.FieldError{{Field: "format", Message: `must be "simple" or "sendgrid"`}})
	}
	if err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	for _, e := range batch.Events {
		if err := apikey.CheckTenant(r.Context(), e.Tenant); err != nil {
			apierror.Write(w, a.log, err)
			return
		}
	}
	suppressed, unchanged, err := a.suppressEmailEvents(r.Context(), source, batch.Events)
	if err != nil {
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the events could not be recorded; nothing was applied, retry", err))
		return
	}
	apierror.JSON(w, http.StatusOK, map[string]int{"suppressed": suppressed, "already_suppressed": unchanged, "ignored": batch.Ignored})
}

func (a *api) suppressEmailEvents(ctx context.Context, source string, events []emailevents.Event) (suppressed, unchanged int, err error) {
	s := a.suppressor
	err = s.store.InTx(ctx, func(tx *postgres.Tx) error {
		suppressed, unchanged = 0, 0
		var msgs []kafka.Message
		for _, e := range events {
			m, changed, err := a.suppressEmailEvent(ctx, tx, source, e)
			if err != nil {
				return err
			}
			if changed {
				suppressed++
			} else {
				unchanged++
			}
			msgs = append(msgs, m...)
		}
		return s.producer.Publish(ctx, msgs...)
	})
	return suppressed, unchanged, err
}

// suppressEmailEvent records one bounce or complaint in tx; changed is false when the
// address was suppressed already.
func (a *api) suppressEmailEvent(ctx context.Context, tx *postgres.Tx, source string, e emailevents.Event) (msgs []kafka.Message, changed bool, err error) {
	hash := pseudonym.EmailSHA256(e.Email)
	current, known, err := tx.Get(ctx, e.Tenant, hash)
	if err != nil || (known && current.Suppressed) {
		return nil, false, err
	}
	id, err := emailEventID(source, hash, e)
	if err != nil {
		return nil, false, err
	}
	cause := schemas.Header{EventID: id, Tenant: e.Tenant, SubjectKey: current.SubjectKey, OccurredAt: e.OccurredAt,
		RecordedAt: a.now().UTC(), Source: source, PolicyVersion: a.policyVersion}
	m, err := a.suppressor.apply(ctx, tx, change{cause: cause, hash: hash, suppress: true, reason: e.Kind})
	if err != nil || m == nil {
		return nil, true, err
	}
	return []kafka.Message{*m}, true, nil
}

// emailEventID names a bounce or complaint by what identifies it at the platform
// (SendGrid's sg_event_id) or, in the simple shape, by its content, so that a redelivered
// webhook whose first delivery published but did not commit publishes the same ids
// again. The id keeps the event's time in its UUIDv7 timestamp.
func emailEventID(source, hash string, e emailevents.Event) (string, error) {
	ms := e.OccurredAt.UnixMilli()
	if ms < 0 {
		ms = 0
	}
	parent := fmt.Sprintf("%08x-%04x-7000-8000-000000000000", uint64(ms)>>16, uint64(ms)&0xffff)
	label := "email-event/" + source + "/" + e.Tenant + "/"
	if e.ProviderID != "" {
		label += e.ProviderID
	} else {
		label += e.Kind + "/" + hash + "/" + e.OccurredAt.Format(time.RFC3339Nano)
	}
	return eventid.Derive(parent, label)
}
