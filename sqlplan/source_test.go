package sqlplan

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseSourceStatements(t *testing.T) {
	for sql, want := range map[string]Statement{
		`CREATE SOURCE images FROM S3 BUCKET 'chat-images'`: &CreateSource{Name: "images", Bucket: "chat-images", Options: map[string]string{}},
		"create source if not exists `my src` from s3 bucket \"b\" prefix 'img/' with (ENDPOINT = '127.0.0.1:9000', access_key = 'ak', SECRET_KEY='it''s', secure = false);": &CreateSource{
			Name: "my src", IfNotExists: true, Bucket: "b", Prefix: "img/",
			Options: map[string]string{"ENDPOINT": "127.0.0.1:9000", "ACCESS_KEY": "ak", "SECRET_KEY": "it's", "SECURE": "false"},
		},
		`DROP SOURCE images`:            &DropSource{Name: "images"},
		`drop source if exists images;`: &DropSource{Name: "images", IfExists: true},
		`SHOW SOURCES`:                  &ShowObjects{What: "sources"},
		`SHOW CREATE SOURCE images`:     &ShowCreate{What: "source", Name: "images"},
		`CREATE SINK thumbs_out FROM thumbs INTO S3 BUCKET 'out' PREFIX 't/' WITH (FORMAT = 'jsonl')`: &CreateSink{
			Name: "thumbs_out", View: "thumbs", Bucket: "out", Prefix: "t/", Options: map[string]string{"FORMAT": "jsonl"},
		},
		`DROP SINK IF EXISTS thumbs_out`: &DropSink{Name: "thumbs_out", IfExists: true},
		`SHOW SINKS`:                     &ShowObjects{What: "sinks"},
	} {
		got, err := Parse(sql)
		if err != nil {
			t.Errorf("%s: %v", sql, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %#v\nwant %#v", sql, got, want)
		}
	}
	for sql, msg := range map[string]string{
		`CREATE SOURCE FROM S3 BUCKET 'b'`:                        "CREATE SOURCE needs a name",
		`CREATE SOURCE s FROM S3 BUCKET b`:                        "BUCKET takes a quoted string",
		`CREATE SOURCE s FROM S3 BUCKET 'b`:                       "unterminated string",
		`CREATE SOURCE s FROM S3 BUCKET 'b' WITH (COLOR = 'red')`: "unknown source option COLOR",
		`CREATE SOURCE s FROM KAFKA TOPIC 't'`:                    "expected S3",
		`CREATE SOURCE s FROM S3 BUCKET 'b' LIMIT 3`:              "unexpected limit",
		`DROP SOURCE a b`:                                         "one source name",
	} {
		if _, err := Parse(sql); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want an error with %q", sql, err, msg)
		}
	}
}
