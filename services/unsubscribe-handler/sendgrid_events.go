package main

import (
	"context"
	"crypto/ecdsa"
	"net/http"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/platform/seal"
	"github.com/consentry/consentry/platform/server"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/emailevents"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/postgres"
	"github.com/consentry/consentry/services/unsubscribe-handler/internal/sendgridsig"
)

// sendGridInbound is what the signed Event Webhook route needs from configuration.
type sendGridInbound struct {
	keys   map[string]*ecdsa.PublicKey // per tenant
	groups map[string]map[int64]string // tenant → asm_group_id → email topic
}

// sendGridResult is the signed route's answer.
type sendGridResult struct {
	Suppressed        int `json:"suppressed"`
	AlreadySuppressed int `json:"already_suppressed"`
	Ignored           int `json:"ignored"`
	// ConsentEvents counts the marketing_email withdrawals published: one per
	// unsubscribe of an address Consentry knows the subject of.
	ConsentEvents int `json:"consent_events"`
}

// postSendGridEvents is SendGrid's signed Event Webhook for one tenant
// (?tenant=). SendGrid cannot send our API key, so the signature made with the
// tenant's SendGrid key is the only authority: nothing is read before it verifies, and a
// post that does not verify, or whose timestamp is stale, applies nothing.
//
// Besides bounces and complaints it takes the recipient's own opt-outs: unsubscribe
// withdraws marketing_email (a ConsentChanged and a scope "all" suppression), and
// group_unsubscribe suppresses the email topic its group is mapped to (or, unmapped, all
// marketing email, the safe reading). Every id derives from sg_event_id, so a redelivered
// batch publishes the same ids and, once applied, nothing.
func (a *api) postSendGridEvents(w http.ResponseWriter, r *http.Request) {
	body, err := server.ReadBody(w, r, 2<<20)
	if err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	tenant := r.URL.Query().Get("tenant")
	key := a.sendGrid.keys[tenant]
	if key == nil {
		// Answered as a bad signature: which tenants have a key is nobody else's business.
		err = sendgridsig.ErrBad
	} else {
		err = sendgridsig.Verify(key, body, r.Header.Get(sendgridsig.SignatureHeader), r.Header.Get(sendgridsig.TimestampHeader), a.now())
	}
	if err != nil {
		a.log.Warn("SendGrid event webhook refused", "reason", err.Error())
		apierror.Write(w, a.log, apierror.New(apierror.Unauthorized, "the SendGrid Event Webhook signature does not verify or its timestamp is stale"))
		return
	}
	batch, err := emailevents.ParseSendGridSigned(body, tenant)
	if err != nil {
		apierror.Write(w, a.log, err)
		return
	}
	res, err := a.applySendGrid(r.Context(), tenant, batch.Events)
	if err != nil {
		apierror.Write(w, a.log, apierror.Wrap(apierror.Unavailable, "the events could not be recorded; nothing was applied, retry", err))
		return
	}
	res.Ignored = batch.Ignored
	apierror.JSON(w, http.StatusOK, res)
}

func (a *api) applySendGrid(ctx context.Context, tenant string, events []emailevents.Event) (sendGridResult, error) {
	var res sendGridResult
	s := a.suppressor
	err := s.store.InTx(ctx, func(tx *postgres.Tx) error {
		res = sendGridResult{}
		var msgs []kafka.Message
		for _, e := range events {
			var (
				m       []kafka.Message
				changed bool
				err     error
			)
			topic := ""
			if e.Kind == emailevents.GroupUnsubscribe {
				topic = a.sendGrid.groups[tenant][e.Group]
			}
			switch {
			case topic != "":
				m, changed, err = a.sendGridTopicOptOut(ctx, tx, e, topic)
			case e.Kind == emailevents.Unsubscribe || e.Kind == emailevents.GroupUnsubscribe:
				var consent bool
				m, changed, consent, err = a.sendGridOptOut(ctx, tx, e)
				if consent {
					res.ConsentEvents++
				}
			default:
				m, changed, err = a.suppressEmailEvent(ctx, tx, "sendgrid", e)
			}
			if err != nil {
				return err
			}
			if changed {
				res.Suppressed++
			} else {
				res.AlreadySuppressed++
			}
			msgs = append(msgs, m...)
		}
		return s.producer.Publish(ctx, msgs...)
	})
	return res, err
}

// sendGridOptOut withdraws marketing_email for e's address. The consent event needs a
// subject, which SendGrid does not know: it is the one Consentry recorded for the address
// (from a consent event that carried it). An address no subject is known for is still
// suppressed, with no consent event; docs/vendors/sendgrid.md says why.
func (a *api) sendGridOptOut(ctx context.Context, tx *postgres.Tx, e emailevents.Event) (msgs []kafka.Message, changed, consent bool, err error) {
	return a.vendorOptOut(ctx, tx, "sendgrid", schemas.SourceEmailLink, e)
}

// vendorOptOut records an opt-out a vendor reported for e's address: a marketing_email
// withdrawal when the address's subject is known, and a scope "all" suppression. Its ids
// derive from the vendor's event (emailEventID), and an address already suppressed is
// left as it is, so a redelivered event has one effect.
func (a *api) vendorOptOut(ctx context.Context, tx *postgres.Tx, vendor, source string, e emailevents.Event) (msgs []kafka.Message, changed, consent bool, err error) {
	s := a.suppressor
	hash := pseudonym.EmailSHA256(e.Email)
	current, known, err := tx.Get(ctx, e.Tenant, hash)
	if err != nil || (known && current.Suppressed) {
		return nil, false, false, err
	}
	id, err := emailEventID(vendor, hash, e)
	if err != nil {
		return nil, false, false, err
	}
	cause := schemas.Header{EventID: id, Tenant: e.Tenant, SubjectKey: current.SubjectKey, OccurredAt: e.OccurredAt,
		RecordedAt: a.now().UTC(), Source: source, PolicyVersion: a.policyVersion}
	if current.SubjectKey != "" {
		// Sealed like every consent event's identifiers, so that the consumer reading it
		// back, and vendor-fanout, find the address without it travelling in clear.
		cause.Identifiers, err = s.sealer.Seal(ctx, e.Tenant, current.SubjectKey, seal.Identifiers{Email: e.Email})
		if err != nil {
			return nil, false, false, err
		}
		m, err := s.serde.EncodeMessage(s.topics.Consents, current.SubjectKey, &schemas.ConsentChanged{Header: cause,
			Purposes: map[string]string{schemas.PurposeMarketingEmail: schemas.Denied}})
		if err != nil {
			return nil, false, false, err
		}
		msgs, consent = append(msgs, m), true
	}
	m, err := s.apply(ctx, tx, change{cause: cause, hash: hash, suppress: true, reason: reasonOptOut})
	if err != nil {
		return nil, false, false, err
	}
	if m != nil {
		msgs = append(msgs, *m)
	}
	return msgs, true, consent, nil
}

// sendGridTopicOptOut suppresses one email topic for e's address, as a list link does;
// a topic is not a purpose, so no consent event.
func (a *api) sendGridTopicOptOut(ctx context.Context, tx *postgres.Tx, e emailevents.Event, topic string) ([]kafka.Message, bool, error) {
	hash := pseudonym.EmailSHA256(e.Email)
	topics, err := tx.Topics(ctx, e.Tenant, hash)
	if err != nil || topics[topic] {
		return nil, false, err
	}
	current, _, err := tx.Get(ctx, e.Tenant, hash)
	if err != nil {
		return nil, false, err
	}
	id, err := emailEventID("sendgrid", hash, e)
	if err != nil {
		return nil, false, err
	}
	cause := schemas.Header{EventID: id, Tenant: e.Tenant, SubjectKey: current.SubjectKey, OccurredAt: e.OccurredAt,
		RecordedAt: a.now().UTC(), Source: schemas.SourceEmailLink, PolicyVersion: a.policyVersion}
	m, err := a.suppressor.applyTopic(ctx, tx, topicChange{cause: cause, hash: hash, topic: topic, suppress: true})
	if err != nil || m == nil {
		return nil, m != nil, err
	}
	return []kafka.Message{*m}, true, nil
}
