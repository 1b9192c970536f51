package main

import (
	"html/template"
	"net/http"

	"github.com/consentry/consentry/services/unsubscribe-handler/internal/i18n"
)

// The public pages. Plain server-rendered HTML that works without JavaScript (the CSP
// allows none), every visible string from the visitor's message catalogue. Colours keep a
// contrast of at least 7:1 on white, and every control shows a thick focus ring.
var pages = template.Must(template.New("layout").Parse(`{{define "layout"}}<!doctype html>
<html lang="{{.M.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.M.T .Title}}</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;background:#fff}
h1{font-size:1.6rem;line-height:1.25}
a{color:#0b4fb3}
button{font:inherit;padding:.6rem 1.2rem;border:2px solid #1a1a1a;background:#1a1a1a;color:#fff;border-radius:.3rem;cursor:pointer}
a:focus-visible,button:focus-visible,input:focus-visible{outline:3px solid #0b4fb3;outline-offset:3px}
fieldset{border:1px solid #595959;border-radius:.4rem;margin:0 0 1.2rem;padding:.8rem 1rem 1rem}
legend{font-weight:700;padding:0 .3rem}
.hint{margin:.2rem 0 .6rem;color:#3d3d3d}
.choice{display:inline-flex;align-items:center;gap:.4rem;margin-right:1.5rem;padding:.2rem 0}
input[type=radio],input[type=checkbox]{width:1.2rem;height:1.2rem;accent-color:#1a1a1a}
.note{font-style:italic;color:#3d3d3d}
</style></head>
<body><main>{{template "body" .}}</main></body></html>{{end}}

{{define "message"}}{{template "layout" .}}{{end}}
{{define "body"}}{{if .Form}}{{template "prefs" .}}{{else}}<h1>{{.M.T .Title}}</h1><p>{{.M.T .Message}}</p>
{{if .Action}}<form method="post" action="{{.Action}}"><input type="hidden" name="{{.FieldName}}" value="{{.FieldValue}}">
<button type="submit">{{.M.T .Button}}</button></form>{{end}}
{{if .Link}}<p><a href="{{.Link}}">{{.M.T .LinkText}}</a></p>{{end}}{{end}}{{end}}

{{define "prefs"}}{{$m := .M}}<h1>{{$m.T "preferences.title"}}</h1>
<p>{{$m.T "preferences.intro"}}</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="csrf" value="{{.Form.CSRF}}">
{{range .Form.Purposes}}<fieldset aria-describedby="{{.ID}}-hint">
<legend>{{$m.T .TitleID}}</legend>
<p class="hint" id="{{.ID}}-hint">{{$m.T .DescriptionID}}{{if not .Decision}} <span class="note">{{$m.T "preferences.no_choice"}}</span>{{end}}</p>
<span class="choice"><input type="radio" id="{{.ID}}-granted" name="{{.Name}}" value="granted"{{if eq .Decision "granted"}} checked{{end}}>
<label for="{{.ID}}-granted">{{$m.T "preferences.allow"}}</label></span>
<span class="choice"><input type="radio" id="{{.ID}}-denied" name="{{.Name}}" value="denied"{{if eq .Decision "denied"}} checked{{end}}>
<label for="{{.ID}}-denied">{{$m.T "preferences.deny"}}</label></span>
</fieldset>
{{end}}{{if .Form.Topics}}<fieldset aria-describedby="topics-hint">
<legend>{{$m.T "preferences.topics.legend"}}</legend>
<p class="hint" id="topics-hint">{{$m.T "preferences.topics.hint"}}</p>
<input type="hidden" name="topics_shown" value="1">
{{range .Form.Topics}}<span class="choice"><input type="checkbox" id="{{.ID}}" name="{{.Name}}" value="on"{{if .Subscribed}} checked{{end}}>
<label for="{{.ID}}">{{.Label}}</label></span>
{{end}}</fieldset>
{{end}}<button type="submit">{{$m.T "preferences.save"}}</button>
</form>{{end}}`))

// view is what a page shows. Title, Message and LinkText are message ids.
type view struct {
	M       *i18n.Catalog
	Title   string
	Message string
	Action  string // the button's form target
	// Button names the button; FieldName and FieldValue are what it posts. They default
	// to the unsubscribe button's RFC 8058 body.
	Button, FieldName, FieldValue string
	Link                          string
	LinkText                      string
	Form                          *prefsForm // the preference form, instead of a message
}

type prefsForm struct {
	CSRF     string
	Purposes []purposeField
	Topics   []topicField
}

type purposeField struct {
	ID, Name, TitleID, DescriptionID string
	Decision                         string // granted, denied, or "" when none is recorded
}

type topicField struct {
	ID, Name, Label string
	Subscribed      bool
}

// render writes a page in the visitor's language.
func (a *api) render(w http.ResponseWriter, r *http.Request, status int, v view) {
	v.M = a.catalogs.For(r.Header.Get("Accept-Language"))
	if v.Action != "" && v.Button == "" {
		v.Button, v.FieldName, v.FieldValue = "unsubscribe.button", "List-Unsubscribe", "One-Click"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", v.M.Lang)
	w.Header().Set("Vary", "Accept-Language")
	w.Header().Set("Cache-Control", "no-store")
	// The token must not leak to other sites. Not no-referrer: under it browsers send
	// "Origin: null" with the page's own form, and the origin check could not tell it
	// from a sandboxed frame elsewhere.
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// No script at all; forms post only here; no other site may frame a page (a framed
	// form could be clicked by someone who thinks they are clicking something else).
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, "message", v); err != nil {
		a.log.Warn("rendering a page", "error", err)
	}
}

// invalid is what every bad link gets: the same page whether the link was forged,
// altered or expired, so it reveals nothing about an address.
var invalid = view{Title: "invalid.title", Message: "invalid.message"}
