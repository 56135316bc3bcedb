package dashboard

import "context"

// SampleOnce reads one sample, as Serve does every interval.
func SampleOnce(d *Dashboard) func(ctx context.Context) Sample { return newSampler(d).sample }
