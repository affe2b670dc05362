package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// s3Backend reads one bucket of S3 or an S3-compatible store with the
// official SDK. Credentials and region come from the SDK's default chain
// (environment, shared config and credentials files, SSO, instance
// roles); another store is reached with Options.Endpoint or
// AWS_ENDPOINT_URL, addressed path-style (bucket in the path), which
// every S3-compatible store understands.
type s3Backend struct {
	bucket string
	c      *s3.Client
	// pre sends the ranged GETs of reads (s3get.go); nil: the SDK does.
	pre *s3Presigner
	// anon says why requests go unsigned ("" when signed): a 403 then
	// says that no credentials were used.
	anon string
}

func newS3(ctx context.Context, u *url.URL, opt Options) (*s3Backend, error) {
	if u.Host == "" {
		return nil, &Error{Op: "open", Name: u.String(), Err: fmt.Errorf("%w: no bucket", ErrBadURL)}
	}
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }), // source.do retries
		// A buildable client: the SDK adds AWS_CA_BUNDLE's roots to it.
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(tuneTransport)),
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
		// The SDK's own warnings (an instance-metadata probe falling
		// back) are not ours to print.
		config.WithLogger(logging.Nop{}),
	)
	if err != nil {
		return nil, &Error{Op: "open", Name: "s3://" + u.Host, Err: fmt.Errorf("cannot load the AWS configuration (check AWS_PROFILE, AWS_REGION and the config files): %s", Redact(err.Error()))}
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1" // what S3-compatible stores answer to
	}
	anon := ""
	if opt.Anonymous {
		anon = "--no-sign-request"
	} else if cfg.Credentials == nil {
		anon = "no AWS credentials found"
	} else {
		// Found now, not at the first read: when the chain has nothing
		// (no keys, profile, SSO or instance role), a public bucket is
		// read unsigned, as `aws s3 --no-sign-request` does.
		cctx, cancel := context.WithTimeout(ctx, credTimeout)
		_, err := cfg.Credentials.Retrieve(cctx)
		cancel()
		if err != nil {
			anon = "no AWS credentials found"
		}
	}
	if anon != "" {
		cfg.Credentials = aws.AnonymousCredentials{}
	}
	endpoint := opt.Endpoint
	if endpoint == "" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL_S3")
	}
	if endpoint == "" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL")
	}
	c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
	})
	b := &s3Backend{bucket: u.Host, c: c, anon: anon}
	if anon == "" {
		// (The SDK presigns nothing without credentials: unsigned
		// requests go through it.)
		b.pre = newS3Presigner(c, cfg.HTTPClient)
	}
	return b, nil
}

// credTimeout bounds the search for credentials at open (an instance
// role is asked of the metadata service, which may not answer).
const credTimeout = 5 * time.Second

func (b *s3Backend) base() string  { return "s3://" + b.bucket }
func (b *s3Backend) canList() bool { return true }

func (b *s3Backend) status(err error) (int, string) {
	code := ""
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		if st := re.HTTPStatusCode(); (st == 401 || st == 403) && b.anon != "" {
			return st, strings.TrimSpace(code + " (unsigned: " + b.anon + ")")
		}
		return re.HTTPStatusCode(), code
	}
	var se *statusError
	if errors.As(err, &se) {
		if (se.code == 401 || se.code == 403) && b.anon != "" {
			return se.code, strings.TrimSpace(se.s3code + " (unsigned: " + b.anon + ")")
		}
		return se.code, se.s3code
	}
	return 0, ""
}

func (b *s3Backend) open(ctx context.Context, key string, n int64) (objInfo, io.ReadCloser, error) {
	if key == "" {
		return objInfo{}, nil, &statusError{code: 404}
	}
	out, err := b.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: &key,
		Range: aws.String(fmt.Sprintf("bytes=0-%d", n-1))})
	if st, _ := b.status(err); st == 416 {
		return b.head(ctx, key) // an empty object has no first byte
	}
	if err != nil {
		return objInfo{}, nil, err
	}
	o := objInfo{key: key, etag: aws.ToString(out.ETag)}
	if out.LastModified != nil {
		o.mod = *out.LastModified
	}
	if o.size, err = firstRange(aws.ToString(out.ContentRange), n); err != nil {
		out.Body.Close()
		return o, nil, err
	}
	return o, out.Body, nil
}

// head describes an object without reading it.
func (b *s3Backend) head(ctx context.Context, key string) (objInfo, io.ReadCloser, error) {
	h, err := b.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.bucket, Key: &key})
	if err != nil {
		return objInfo{}, nil, err
	}
	o := objInfo{key: key, etag: aws.ToString(h.ETag), size: aws.ToInt64(h.ContentLength)}
	if h.LastModified != nil {
		o.mod = *h.LastModified
	}
	return o, nil, nil
}

func (b *s3Backend) list(ctx context.Context, prefix string, alive func()) ([]objInfo, error) {
	var out []objInfo
	p := s3.NewListObjectsV2Paginator(b.c, &s3.ListObjectsV2Input{Bucket: &b.bucket, Prefix: &prefix, Delimiter: aws.String("/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		alive()
		for _, cp := range page.CommonPrefixes {
			out = append(out, objInfo{key: strings.TrimSuffix(aws.ToString(cp.Prefix), "/"), dir: true})
		}
		for _, o := range page.Contents {
			oi := objInfo{key: aws.ToString(o.Key), size: aws.ToInt64(o.Size), etag: aws.ToString(o.ETag)}
			if o.LastModified != nil {
				oi.mod = *o.LastModified
			}
			out = append(out, oi)
		}
		if len(out) > maxList {
			return nil, fmt.Errorf("more than %d names in one folder", maxList)
		}
	}
	return out, nil
}

// get sends a presigned GET (s3get.go); one the store refuses goes again
// on a URL signed anew, then through the SDK, and when that one succeeds,
// every later one does.
func (b *s3Backend) get(ctx context.Context, key, etag string, off, n int64) (io.ReadCloser, error) {
	if b.pre == nil || b.pre.off.Load() {
		return b.getSDK(ctx, key, etag, off, n)
	}
	body, refused, err := b.pre.get(ctx, b.bucket, key, etag, off, n)
	if !refused {
		return body, err
	}
	b.pre.forget(key) // signed anew: the credentials may have changed
	if body, refused, err = b.pre.get(ctx, b.bucket, key, etag, off, n); !refused {
		return body, err
	}
	b.pre.forget(key)
	body, err2 := b.getSDK(ctx, key, etag, off, n)
	if err2 == nil {
		b.pre.off.Store(true)
	}
	return body, err2
}

// getSDK is get through the SDK's GetObject.
func (b *s3Backend) getSDK(ctx context.Context, key, etag string, off, n int64) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{Bucket: &b.bucket, Key: &key,
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, off+n-1))}
	if etag != "" {
		in.IfMatch = aws.String(etag)
	}
	out, err := b.c.GetObject(ctx, in)
	if err != nil {
		return nil, err
	}
	if etag != "" && out.ETag != nil && *out.ETag != etag {
		out.Body.Close()
		return nil, ErrChanged // a store that ignores If-Match
	}
	return out.Body, nil
}
