package apikey

import (
	"context"
	"fmt"
	"net/http"
	"unicode"

	"github.com/consentry/consentry/platform/apierror"
)

// ActorHeader names the person a trusted front end acts for. Only a key holding the
// Actor permission may send it: anyone else could otherwise write a colleague's name into
// the audit trail.
const ActorHeader = "Consentry-Actor"

// MaxActorLen bounds the header; an identity longer than this is a mistake or an attack.
const MaxActorLen = 128

type actorKey struct{}

// actorFrom checks the request's ActorHeader against its key: absent is fine, present
// needs the Actor permission and a short printable value.
func actorFrom(r *http.Request, k Key) (string, error) {
	v, present := r.Header[http.CanonicalHeaderKey(ActorHeader)]
	if !present {
		return "", nil
	}
	if !k.Can(Actor) {
		return "", apierror.New(apierror.Forbidden, fmt.Sprintf("this API key may not name an actor (%s needs the %q permission)", ActorHeader, Actor))
	}
	if len(v) != 1 || v[0] == "" || len(v[0]) > MaxActorLen {
		return "", apierror.Fields([]apierror.FieldError{{Field: ActorHeader, Message: fmt.Sprintf("must be one identity of 1-%d bytes", MaxActorLen)}})
	}
	for _, c := range v[0] {
		if !unicode.IsPrint(c) {
			return "", apierror.Fields([]apierror.FieldError{{Field: ActorHeader, Message: "must be printable text"}})
		}
	}
	return v[0], nil
}

// ActorOf returns the person a trusted front end named for this request, if any.
func ActorOf(ctx context.Context) (string, bool) {
	a, ok := ctx.Value(actorKey{}).(string)
	return a, ok && a != ""
}

// Who says who did what this request does, for the audit trail: the named person and the
// key that vouched for them ("alice via console"), or the key's name alone.
func Who(ctx context.Context) string {
	k, _ := FromContext(ctx)
	if a, ok := ActorOf(ctx); ok {
		return a + " via " + k.Name
	}
	return k.Name
}
