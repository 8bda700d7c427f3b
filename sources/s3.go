package sources

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/notification"
)

// S3Config says where a bucket is and how to sign in.
type S3Config struct {
	Endpoint  string // host:port
	AccessKey string
	SecretKey string
	Region    string
	Secure    bool // HTTPS
	Bucket    string
	Prefix    string
}

// ObjectInfo is the metadata of one object, as a source row holds it.
type ObjectInfo struct {
	Key          string
	Size         int64
	ETag         string // without quotes
	ContentType  string
	LastModified time.Time
	// UserMetadata has the x-amz-meta-* entries, keys lower-cased and without the prefix.
	UserMetadata map[string]string
}

// S3Bucket reads the objects of one bucket (under a prefix). Safe for concurrent use.
type S3Bucket struct {
	client *minio.Client
	cfg    S3Config
}

// reachTimeout bounds the check that a bucket is reachable.
const reachTimeout = 10 * time.Second

// OpenS3 connects to a bucket and checks that it exists, so that a wrong endpoint, wrong
// credentials or a missing bucket are reported at once.
func OpenS3(ctx context.Context, cfg S3Config) (*S3Bucket, error) {
	if cfg.Endpoint == "" {
		return nil, fmt.Errorf("no S3 endpoint: set ENDPOINT in the source's WITH options or CDC_S3_ENDPOINT")
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.Secure,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("S3 endpoint %s: %w", cfg.Endpoint, err)
	}
	ctx, cancel := context.WithTimeout(ctx, reachTimeout)
	defer cancel()
	ok, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("cannot reach bucket %q at S3 endpoint %s: %w", cfg.Bucket, cfg.Endpoint, err)
	}
	if !ok {
		return nil, fmt.Errorf("bucket %q does not exist at S3 endpoint %s", cfg.Bucket, cfg.Endpoint)
	}
	return &S3Bucket{client: client, cfg: cfg}, nil
}

// Client returns the underlying client, for the bucket's other operations.
func (b *S3Bucket) Client() *minio.Client { return b.client }

// Config returns the bucket's configuration.
func (b *S3Bucket) Config() S3Config { return b.cfg }

// List calls fn for every object under the prefix, in key order, with its metadata.
func (b *S3Bucket) List(ctx context.Context, fn func(ObjectInfo) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing goroutine if fn fails
	for obj := range b.client.ListObjects(ctx, b.cfg.Bucket, minio.ListObjectsOptions{
		Prefix: b.cfg.Prefix, Recursive: true, WithMetadata: true,
	}) {
		if obj.Err != nil {
			return fmt.Errorf("list bucket %q: %w", b.cfg.Bucket, obj.Err)
		}
		info := ObjectInfo{Key: obj.Key, Size: obj.Size, ETag: strings.Trim(obj.ETag, `"`), LastModified: obj.LastModified.UTC(),
			ContentType: obj.ContentType, UserMetadata: NormalizeUserMetadata(obj.UserMetadataStripped)}
		for k, v := range obj.UserMetadata {
			if strings.EqualFold(k, "content-type") {
				info.ContentType = v
			}
		}
		if info.ContentType == "" {
			// Servers other than MinIO do not list metadata: ask for it.
			st, err := b.client.StatObject(ctx, b.cfg.Bucket, obj.Key, minio.StatObjectOptions{})
			if err != nil {
				return fmt.Errorf("stat %q in bucket %q: %w", obj.Key, b.cfg.Bucket, err)
			}
			info.ContentType, info.UserMetadata = st.ContentType, NormalizeUserMetadata(st.UserMetadata)
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// NormalizeUserMetadata lower-cases user metadata keys and strips their x-amz-meta- prefix,
// so that listings, stats and notification events agree; system entries (content-type and
// the like) are left out. It returns nil for none.
func NormalizeUserMetadata(m map[string]string) map[string]string {
	var out map[string]string
	for k, v := range m {
		k = strings.ToLower(k)
		if rest, ok := strings.CutPrefix(k, "x-amz-meta-"); ok {
			k = rest
		} else if strings.HasPrefix(k, "content-") || strings.HasPrefix(k, "x-") || k == "cache-control" || k == "expires" {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	return out
}

// EnsureNotification makes the bucket notify the target arn (for example
// arn:minio:sqs::cdc:webhook) of every object created or removed under the prefix, unless a
// notification for that target is configured already. It reports whether it set one.
func (b *S3Bucket) EnsureNotification(ctx context.Context, arn string) (bool, error) {
	cfg, err := b.client.GetBucketNotification(ctx, b.cfg.Bucket)
	if err != nil {
		return false, fmt.Errorf("read the notification configuration of bucket %q: %w", b.cfg.Bucket, err)
	}
	for _, q := range cfg.QueueConfigs {
		if q.Queue == arn {
			return false, nil
		}
	}
	target, err := notification.NewArnFromString(arn)
	if err != nil {
		return false, fmt.Errorf("notification target %q: %w", arn, err)
	}
	q := notification.NewConfig(target)
	q.AddEvents(notification.ObjectCreatedAll, notification.ObjectRemovedAll)
	if b.cfg.Prefix != "" {
		q.AddFilterPrefix(b.cfg.Prefix)
	}
	cfg.AddQueue(q)
	if err := b.client.SetBucketNotification(ctx, b.cfg.Bucket, cfg); err != nil {
		return false, fmt.Errorf("set the notification of bucket %q to %s: %w", b.cfg.Bucket, arn, err)
	}
	return true, nil
}

// Put writes an object (replacing one of the same key).
func (b *S3Bucket) Put(ctx context.Context, key string, data []byte, contentType string) error {
	_, err := b.client.PutObject(ctx, b.cfg.Bucket, key, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: contentType})
	if err != nil {
		return fmt.Errorf("put %q into bucket %q: %w", key, b.cfg.Bucket, err)
	}
	return nil
}

// Keys calls fn with the key of every object under the bucket's prefix, in key order.
func (b *S3Bucket) Keys(ctx context.Context, fn func(key string) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for obj := range b.client.ListObjects(ctx, b.cfg.Bucket, minio.ListObjectsOptions{Prefix: b.cfg.Prefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("list bucket %q: %w", b.cfg.Bucket, obj.Err)
		}
		if err := fn(obj.Key); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// Get reads an object's bytes, at most max of them (a larger object gives nil). found is
// false when the object does not exist (any more).
func (b *S3Bucket) Get(ctx context.Context, key string, max int64) (data []byte, found bool, err error) {
	obj, err := b.client.GetObject(ctx, b.cfg.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, false, fmt.Errorf("get %q from bucket %q: %w", key, b.cfg.Bucket, err)
	}
	defer obj.Close()
	data, err = io.ReadAll(io.LimitReader(obj, max+1))
	if err != nil {
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("get %q from bucket %q: %w", key, b.cfg.Bucket, err)
	}
	if int64(len(data)) > max {
		return nil, true, nil
	}
	return data, true, nil
}

// Remove deletes an object; deleting one that does not exist is not an error.
func (b *S3Bucket) Remove(ctx context.Context, key string) error {
	if err := b.client.RemoveObject(ctx, b.cfg.Bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("remove %q from bucket %q: %w", key, b.cfg.Bucket, err)
	}
	return nil
}
