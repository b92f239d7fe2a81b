package main

import (
	"reflect"
	"strings"
	"testing"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/controllers"
)

func TestStreamFlags(t *testing.T) {
	ok := streamFlags{replicas: 1, storage: "File", logMaxBytes: "1Gi"}
	tests := map[string]struct {
		flags   func(f *streamFlags)
		want    controllers.StreamDefaults
		wantErr string
	}{
		"defaults": {flags: func(*streamFlags) {}, want: controllers.StreamDefaults{Replicas: 1, Storage: v1alpha1.StreamStorageFile, LogMaxBytes: 1 << 30}},
		"cluster": {
			flags: func(f *streamFlags) {
				f.replicas, f.storage, f.placementCluster, f.placementTags, f.logMaxBytes = 3, "memory", "east", []string{"ssd"}, "512Mi"
			},
			want: controllers.StreamDefaults{Replicas: 3, Storage: v1alpha1.StreamStorageMemory,
				Placement: &v1alpha1.StreamPlacement{Cluster: "east", Tags: []string{"ssd"}}, LogMaxBytes: 512 << 20},
		},
		"no replicas":     {flags: func(f *streamFlags) { f.replicas = 0 }, wantErr: "--stream-replicas"},
		"too many":        {flags: func(f *streamFlags) { f.replicas = 7 }, wantErr: "--stream-replicas"},
		"unknown storage": {flags: func(f *streamFlags) { f.storage = "disk" }, wantErr: "--stream-storage"},
		"bad size":        {flags: func(f *streamFlags) { f.logMaxBytes = "lots" }, wantErr: "--log-stream-max-bytes"},
		"zero size":       {flags: func(f *streamFlags) { f.logMaxBytes = "0" }, wantErr: "--log-stream-max-bytes"},
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
