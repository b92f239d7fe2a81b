package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"inlet.dev/inlet/ingress/provider"
)

// sendHandshake sends the SourceEnvironment's endpoint handshake as its sender makes it
// (Slack's url_verification, Meta's verification GET, Graph's validationToken, Zoom's
// endpoint.url_validation, Okta's verification challenge), with its secrets, and says
// whether the answer is the one the sender expects. With --unsigned it sends it without
// the secret, to see the 401. Neither the secrets nor the answer are printed.
func (o *sendOptions) sendHandshake(ctx context.Context, out io.Writer, tg *target) error {
	secret, vars := "", map[string]string{}
	if !o.unsigned {
		if refs := tg.se.Spec.SigningSecretRefs; len(refs) > 0 {
			var err error
			if secret, err = secretValue(tg.in, tg.se.Namespace, refs[0]); err != nil {
				return err
			}
		}
		for _, v := range tg.se.Spec.Variables {
			switch {
			case v.Value != nil:
				vars[v.Name] = *v.Value
			case v.SecretKeyRef != nil:
				val, err := secretValue(tg.in, tg.se.Namespace, *v.SecretKeyRef)
				if err != nil && o.cluster {
					return fmt.Errorf("variable %s: --handshake reads variables' Secrets from --dir only: %w", v.Name, err)
				}
				vars[v.Name] = val
			}
		}
	}
	p, err := provider.NewHandshakeProbe(&tg.src.Spec, secret, vars, time.Now())
	if err != nil {
		return err
	}
	u := tg.url
	if len(p.Query) > 0 {
		u += "?" + p.Query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, p.Method, u, bytes.NewReader(p.Body))
	if err != nil {
		return fmt.Errorf("endpoint %s: %w", tg.shown, withoutURL(err))
	}
	req.Header = p.Header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("send to %s: %w%s", tg.shown, withoutURL(err), tg.hint)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	fmt.Fprintf(out, "%s %s handshake to %s: %s\n", p.Method, p.Type, tg.shown, resp.Status)
	if err := p.Check(resp.StatusCode, answer); err != nil {
		return fmt.Errorf("the answer is not the one the sender expects: %w", err)
	}
	fmt.Fprintf(out, "answered as %s expects; it created no event\n", p.Type)
	return nil
}
