package main

import (
	"reflect"
	"strings"
	"testing"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/controllers"
)

func TestStreamFlags(t *testing.T) {
	ok := streamFlags{replicas: 1, storage: "File", logMaxBytes: "1Gi", partitions: 1}
	tests := map[string]struct {
		flags   func(f *streamFlags)
		want    controllers.StreamDefaults
		wantErr string
	}{
		"defaults": {flags: func(*streamFlags) {}, want: controllers.StreamDefaults{Replicas: 1, Storage: v1alpha1.StreamStorageFile, LogMaxBytes: 1 << 30, Partitions: 1}},
		"cluster": {
			flags: func(f *streamFlags) {
				f.replicas, f.storage, f.placementCluster, f.placementTags, f.logMaxBytes, f.partitions = 3, "memory", "east", []string{"ssd"}, "512Mi", 8
			},
			want: controllers.StreamDefaults{Replicas: 3, Storage: v1alpha1.StreamStorageMemory,
				Placement: &v1alpha1.StreamPlacement{Cluster: "east", Tags: []string{"ssd"}}, LogMaxBytes: 512 << 20, Partitions: 8},
		},
		"no replicas":     {flags: func(f *streamFlags) { f.replicas = 0 }, wantErr: "--stream-replicas"},
		"too many":        {flags: func(f *streamFlags) { f.replicas = 7 }, wantErr: "--stream-replicas"},
		"unknown storage": {flags: func(f *streamFlags) { f.storage = "disk" }, wantErr: "--stream-storage"},
		"bad size":        {flags: func(f *streamFlags) { f.logMaxBytes = "lots" }, wantErr: "--log-stream-max-bytes"},
		"zero size":       {flags: func(f *streamFlags) { f.logMaxBytes = "0" }, wantErr: "--log-stream-max-bytes"},
		"no partitions":   {flags: func(f *streamFlags) { f.partitions = 0 }, wantErr: "--action-partitions"},
		"65 partitions":   {flags: func(f *streamFlags) { f.partitions = 65 }, wantErr: "--action-partitions"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			f := ok
			tt.flags(&f)
			got, err := f.defaults()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("defaults() error = %v, want one about %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("defaults() = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
