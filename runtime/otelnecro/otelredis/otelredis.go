// Package otelredis reports what a NecroStack bus on Redis holds as
// OpenTelemetry gauges: per service and topic, the events not yet delivered
// (lag) and those delivered but not settled (pending); per service, its dead
// letters. It reads the bus's keys with go-redis at each collection, so the
// figures are those of the whole bus, whichever process serves them.
//
// It is apart from otelnecro so that tracing a service does not link
// go-redis, and from runtime/redisstream so that the backend does not link
// OpenTelemetry.
package otelredis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"

	"github.com/necrostack/necrostack/runtime/otelnecro"
)

// CollectTimeout bounds the Redis round trips of one collection.
const CollectTimeout = 5 * time.Second

// Observe registers, on mp (nil: otel's global MeterProvider), gauges of
// the bus named bus (redisstream.WithBus) that client reaches:
//
//	necrostack.topic.lag       service, topic  entries of the topic the service's group has not read
//	necrostack.topic.pending   service, topic  entries the group read and did not settle
//	necrostack.dead_letters    service         the length of the service's dead-letter stream
//
// Each collection makes two round trips: the sets {bus}:topics and
// {bus}:services, then XINFO GROUPS of each topic ({bus}:t:TYPE) and XLEN of
// each dead-letter stream ({bus}:dead:SERVICE) in one pipeline. A group
// whose lag Redis cannot tell (after entries were deleted from the middle
// of a topic) reports no lag. Unregister the result to stop; the client
// stays the caller's.
func Observe(mp metric.MeterProvider, client redis.UniversalClient, bus string) (metric.Registration, error) {
	if client == nil {
		return nil, errors.New("otelredis: the Redis client is nil")
	}
	meter := otelnecro.Meter(mp)
	lag, err := meter.Int64ObservableGauge(otelnecro.MetricTopicLag, metric.WithUnit("{event}"),
		metric.WithDescription("Entries of a topic that a service has not read yet."))
	if err != nil {
		return nil, err
	}
	pending, err := meter.Int64ObservableGauge(otelnecro.MetricTopicPending, metric.WithUnit("{event}"),
		metric.WithDescription("Entries of a topic that a service read and has not settled yet."))
	if err != nil {
		return nil, err
	}
	dead, err := otelnecro.DeadLettersGauge(meter)
	if err != nil {
		return nil, err
	}
	b := observer{client: client, bus: bus, tag: "{" + bus + "}", lag: lag, pending: pending, dead: dead}
	return meter.RegisterCallback(b.collect, lag, pending, dead)
}

type observer struct {
	client             redis.UniversalClient
	bus, tag           string
	lag, pending, dead metric.Int64ObservableGauge
}

func (b *observer) collect(ctx context.Context, o metric.Observer) error {
	ctx, cancel := context.WithTimeout(ctx, CollectTimeout)
	defer cancel()
	var topics, services *redis.StringSliceCmd
	if _, err := b.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		topics = p.SMembers(ctx, b.tag+":topics")
		services = p.SMembers(ctx, b.tag+":services")
		return nil
	}); err != nil {
		return fmt.Errorf("otelredis: list the topics and services of bus %s: %w", b.bus, err)
	}
	groups := make([]*redis.XInfoGroupsCmd, len(topics.Val()))
	lens := make([]*redis.IntCmd, len(services.Val()))
	_, _ = b.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, t := range topics.Val() {
			groups[i] = p.XInfoGroups(ctx, b.tag+":t:"+t)
		}
		for i, s := range services.Val() {
			lens[i] = p.XLen(ctx, b.tag+":dead:"+s)
		}
		return nil
	}) // each command's error is looked at below
	var errs []error
	for i, t := range topics.Val() {
		gs, err := groups[i].Result()
		if err != nil {
			if !strings.Contains(err.Error(), "no such key") { // a topic whose stream is gone
				errs = append(errs, fmt.Errorf("otelredis: XINFO GROUPS of topic %s: %w", t, err))
			}
			continue
		}
		for _, g := range gs {
			attrs := metric.WithAttributes(otelnecro.LabelService.String(g.Name), otelnecro.LabelTopic.String(t))
			o.ObserveInt64(b.pending, g.Pending, attrs)
			if g.Lag >= 0 {
				o.ObserveInt64(b.lag, g.Lag, attrs)
			}
		}
	}
	for i, s := range services.Val() {
		n, err := lens[i].Result()
		if err != nil {
			errs = append(errs, fmt.Errorf("otelredis: XLEN of the dead letters of service %s: %w", s, err))
			continue
		}
		o.ObserveInt64(b.dead, n, metric.WithAttributes(otelnecro.LabelService.String(s)))
	}
	return errors.Join(errs...)
}
