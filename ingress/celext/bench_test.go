package celext_test

import (
	"context"
	"testing"
	"time"

	"cel.dev/cel-go/cel"
)

// BenchmarkEval measures evaluating programs compiled once, against the Stripe event of
// eval_test.go, as the ingress does for every delivery: under a context with a deadline, as a
// request's is.
func BenchmarkEval(b *testing.B) {
	vars := stripeVars(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()

	b.Run("field_access", func(b *testing.B) {
		prg := compile(b, "spec.actions[0].identify.id", "body.data.object.customer", cel.StringType)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := prg.EvalString(ctx, vars); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("when_condition", func(b *testing.B) {
		prg := compile(b, "spec.when",
			"body.type == 'customer.subscription.deleted' && body.data.object.cancel_at_period_end == false && body.data.object.plan.amount >= 1000",
			cel.BoolType)
		b.ReportAllocs()
		for b.Loop() {
			ok, err := prg.EvalBool(ctx, vars)
			if err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})

	b.Run("build_map", func(b *testing.B) {
		prg := compile(b, "spec.actions[0].triggerWorkflow.data",
			`{"plan": body.data.object.plan.id, "amount": body.data.object.plan.amount, "customer": body.data.object.customer, "canceled_at": unixTime(body.data.object.canceled_at), "metadata": body.data.object.metadata}`,
			cel.MapType(cel.StringType, cel.DynType))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := prg.EvalNative(ctx, vars); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("verify_hmac", func(b *testing.B) {
		prg := compile(b, "spec.preprocess",
			"secureCompare(headers['stripe-signature'].split(',')[1].trimPrefix('v1='), hex.encode(hmac.sha256(vars.stripeSecret, '1700000000.' + string(rawBody))))",
			cel.BoolType)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := prg.EvalBool(ctx, vars); err != nil {
				b.Fatal(err)
			}
		}
	})
}
