#!/usr/bin/env python3
"""Writes scanner_cases.jsonl: labelled cases for the secret scanner.

Every positive is built from a provider's published token format (prefix, alphabet, length,
checksum where the format has one) with fresh random characters, and set in a context where such
a token shows up (an env file, JSON, YAML, a log line, a shell command). Every negative is a near
miss: the same shapes with a bad checksum, a placeholder, a variable reference, a default
password, a public (not secret) value, or ordinary high-entropy data (hashes, UUIDs, base64
blobs) not assigned to a secret-like name.

Lines are {"text": ..., "label": RULE_ID} for positives and {"text": ..., "label": null} for
negatives. The file is generated with a fixed seed; run this script to regenerate it:

    python3 crates/redact/tests/data/gen_scanner_cases.py

This generator is independent of the Rust implementation (its own CRC-32, base62, bech32 and
base64 code from the formats' specifications), so the test that reads the file checks the
scanner against the formats rather than against itself.
"""

import base64
import json
import os
import random
import string
import zlib

R = random.Random(20251125)
UPPER = string.ascii_uppercase
LOWER = string.ascii_lowercase
DIGITS = string.digits
ALNUM = UPPER + LOWER + DIGITS
B62 = DIGITS + UPPER + LOWER
B64 = UPPER + LOWER + DIGITS + "+/"
B64URL = UPPER + LOWER + DIGITS + "-_"
HEX = "0123456789abcdef"


def rnd(alphabet, n):
    return "".join(R.choice(alphabet) for _ in range(n))


def b62(n, width):
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = B62[r] + out
    return out.rjust(width, "0")


def crc_token(prefix):
    body = rnd(ALNUM, 30)
    return prefix + body + b62(zlib.crc32(body.encode()) & 0xFFFFFFFF, 6)


def bad_crc_token(prefix):
    token = crc_token(prefix)
    last = token[-1]
    return token[:-1] + R.choice([c for c in ALNUM if c != last])


BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def bech32_polymod(values):
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def age_key(valid=True):
    hrp = "age-secret-key-"
    data = R.randbytes(32)
    acc, bits, five = 0, 0, []
    for byte in data:
        acc = (acc << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            five.append((acc >> bits) & 31)
    if bits:
        five.append((acc << (5 - bits)) & 31)
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    pm = bech32_polymod(expanded + five + [0] * 6) ^ 1
    check = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    if not valid:
        check[-1] ^= 1
    return (hrp + "1" + "".join(BECH32[d] for d in five + check)).upper()


def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jwt():
    header = b64url(json.dumps({"alg": R.choice(["HS256", "RS256", "ES256"]), "typ": "JWT"}).encode())
    claims = {"sub": rnd(DIGITS, 10), "name": R.choice(["Ada", "Linus", "Grace"]), "iat": 1700000000 + R.randrange(10**7)}
    payload = b64url(json.dumps(claims).encode())
    return f"{header}.{payload}.{b64url(R.randbytes(32))}"


def pem(kind, lines=12):
    body = base64.b64encode(R.randbytes(48 * lines)).decode()
    wrapped = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    label = f"{kind} PRIVATE KEY" if kind else "PRIVATE KEY"
    return f"-----BEGIN {label}-----\n{wrapped}\n-----END {label}-----"


def password(n=14):
    chars = ALNUM + "!#%&*+-=?@^_"
    while True:
        p = rnd(chars, n)
        if any(c.isdigit() for c in p) and any(c.isalpha() for c in p):
            return p


def pypi(test=False):
    location = b"test.pypi.org" if test else b"pypi.org"
    macaroon = b"\x02\x01" + bytes([len(location)]) + location + b"\x02\x01\x04" + R.randbytes(2) + b"\x00\x02" + R.randbytes(90)
    return "pypi-" + b64url(macaroon)


def wrap(token, key="TOKEN"):
    """A random context for a bare token."""
    forms = [
        f"{key}={token}",
        f'export {key}="{token}"',
        f'{{"{key.lower()}": "{token}"}}',
        f"{key.lower()}: {token}",
        f"2025-11-25T10:00:00Z INFO using credential {token} for upload",
        f"curl -H 'X-Api-Key: {token}' https://api.service.test/v1/items",
        f"    client = Client(\"{token}\")",
    ]
    return R.choice(forms)


def positives():
    cases = []
    add = lambda rule, text: cases.append({"text": text, "label": rule})
    for _ in range(8):
        add("aws-access-key-id", wrap(R.choice(["AKIA", "ASIA"]) + rnd(UPPER + "234567", 16), "AWS_ACCESS_KEY_ID"))
        add("aws-secret-access-key", R.choice(["aws_secret_access_key = ", "AWS_SECRET_ACCESS_KEY=", '"SecretAccessKey": "']) + rnd(ALNUM + "+/", 40))
        add("gcp-api-key", wrap("AIza" + rnd(ALNUM + "-_", 35), "GOOGLE_API_KEY"))
        add("github-token", wrap(crc_token(R.choice(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"])), "GITHUB_TOKEN"))
        add("npm-token", R.choice(["//registry.npmjs.org/:_authToken=", "NPM_TOKEN="]) + crc_token("npm_"))
        quote = R.choice(['"', "'"])
        add("generic-secret", R.choice(["api_key", "SECRET_KEY", "client_secret", "auth_token", "APP_SECRET"]) + R.choice([" = ", "=", ": "]) + quote + rnd(ALNUM, R.choice([24, 32, 40])) + quote)
    for _ in range(5):
        add("github-fine-grained-pat", wrap("github_pat_" + rnd(ALNUM, 22) + "_" + rnd(ALNUM, 59), "GH_PAT"))
        add("gitlab-token", wrap(R.choice(["glpat-", "gldt-", "glrt-", "glptt-"]) + rnd(ALNUM + "-_", 20), "GITLAB_TOKEN"))
        add("slack-token", wrap(f"xoxb-{rnd(DIGITS, 12)}-{rnd(DIGITS, 13)}-{rnd(ALNUM, 24)}", "SLACK_BOT_TOKEN"))
        add("slack-token", wrap(f"xoxp-{rnd(DIGITS, 12)}-{rnd(DIGITS, 12)}-{rnd(DIGITS, 13)}-{rnd(HEX, 32)}", "SLACK_USER_TOKEN"))
        add("slack-token", wrap(f"xapp-1-A{rnd(UPPER + DIGITS, 10)}-{rnd(DIGITS, 13)}-{rnd(HEX, 64)}", "SLACK_APP_TOKEN"))
        add("slack-webhook", f"SLACK_WEBHOOK=https://hooks.slack.com/services/T{rnd(UPPER + DIGITS, 8)}/B{rnd(UPPER + DIGITS, 10)}/{rnd(ALNUM, 24)}")
        add("stripe-secret-key", wrap(R.choice(["sk_live_", "rk_live_", "sk_test_"]) + rnd(ALNUM, R.choice([24, 99])), "STRIPE_KEY"))
        add("stripe-secret-key", "STRIPE_WEBHOOK_SECRET=whsec_" + rnd(ALNUM, 32))
        add("openai-api-key", wrap("sk-proj-" + rnd(ALNUM + "-_", 74) + "T3BlbkFJ" + rnd(ALNUM + "-_", 74), "OPENAI_API_KEY"))
        add("openai-api-key", wrap("sk-" + rnd(ALNUM, 20) + "T3BlbkFJ" + rnd(ALNUM, 20), "OPENAI_API_KEY"))
        add("anthropic-api-key", wrap("sk-ant-api03-" + rnd(ALNUM + "-_", 93) + "AA", "ANTHROPIC_API_KEY"))
        add("pypi-token", R.choice(["password = ", "TWINE_PASSWORD=", "UV_PUBLISH_TOKEN="]) + pypi(test=R.random() < 0.3))
        add("private-key", pem(R.choice(["RSA", "EC", "", "OPENSSH", "DSA", "ENCRYPTED"])))
        add("private-key", json.dumps({"type": "service_account", "project_id": "demo-1", "private_key_id": rnd(HEX, 40), "private_key": pem("") + "\n"}))
        add("age-secret-key", R.choice(["# created: 2025-11-25\n# public key: age1...\n", "AGE_KEY="]) + age_key())
        add("jwt", R.choice(["Authorization: Bearer ", "id_token=", '"access_token": "', "cookie: session="]) + jwt())
        add("database-url", R.choice(["DATABASE_URL=", "url: ", "dsn = \""]) + R.choice(["postgres", "postgresql", "mysql", "mongodb+srv", "redis", "amqps"]) + f"://{R.choice(['app', 'svc_user', 'admin', ''])}:{password()}@{R.choice(['db.internal', '10.0.3.7', 'cluster0.abcde.mongodb.net'])}:{R.choice([5432, 3306, 6379, 5671])}/{R.choice(['app', 'prod', '0'])}")
        add("url-credentials", f"git clone https://{R.choice(['deploy', 'ci-bot', 'oauth2'])}:{password(20)}@git.corp.internal/team/repo.git")
        add("authorization-bearer", R.choice(["Authorization: Bearer ", "-H 'Authorization: token "]) + rnd(ALNUM, 40))
        add("authorization-basic", "Authorization: Basic " + base64.b64encode(f"{R.choice(['alice', 'svc', 'admin'])}:{password()}".encode()).decode())
        quote = R.choice(['"', "'", ""])
        add("generic-secret", R.choice(["password", "DB_PASSWORD", "passwd", "smtp_password", "admin_pass"]) + R.choice([" = ", ": ", "="]) + quote + password(R.choice([10, 14, 18])) + quote)
        add("generic-secret", R.choice(["SECRET_KEY", "JWT_SECRET", "encryption_key", "signing_key", "WEBHOOK_SECRET", "session_secret"]) + "=" + base64.b64encode(R.randbytes(32)).decode())
        add("generic-secret", R.choice(["access_token", "refresh_token", "api-key", "apikey", "x-api-key"]) + ": " + rnd(HEX, 32))
    for _ in range(4):
        add("gcp-oauth-client-secret", wrap("GOCSPX-" + rnd(ALNUM + "-_", 28), "GOOGLE_CLIENT_SECRET"))
        add("azure-storage-account-key", f"DefaultEndpointsProtocol=https;AccountName=store{rnd(LOWER, 6)};AccountKey={base64.b64encode(R.randbytes(64)).decode()};EndpointSuffix=core.windows.net")
        add("azure-ad-client-secret", wrap(rnd(ALNUM, 3) + rnd(DIGITS, 1) + "Q~" + rnd(ALNUM + "-_.~", 34), "AZURE_CLIENT_SECRET"))
        add("huggingface-token", wrap("hf_" + rnd(UPPER + LOWER, 34), "HF_TOKEN"))
        add("sendgrid-api-key", wrap("SG." + rnd(ALNUM + "-_", 22) + "." + rnd(ALNUM + "-_", 43), "SENDGRID_API_KEY"))
        add("twilio-api-key", wrap("SK" + rnd(HEX, 32), "TWILIO_API_KEY"))
        add("digitalocean-token", wrap("dop_v1_" + rnd(HEX, 64), "DIGITALOCEAN_TOKEN"))
        add("shopify-token", wrap("shpat_" + rnd(HEX, 32), "SHOPIFY_TOKEN"))
        add("telegram-bot-token", wrap(rnd(DIGITS, 10) + ":AA" + rnd(ALNUM + "-_", 33), "BOT_TOKEN"))
        add("discord-webhook", "https://discord.com/api/webhooks/" + rnd(DIGITS, 19) + "/" + rnd(ALNUM + "-_", 68))
        add("hashicorp-vault-token", wrap("hvs." + rnd(ALNUM, 24), "VAULT_TOKEN"))
        add("hashicorp-vault-token", wrap("hvs.CAESI" + rnd(ALNUM + "-_", 86), "VAULT_TOKEN"))
        add("terraform-cloud-token", wrap(rnd(ALNUM, 14) + ".atlasv1." + rnd(ALNUM, 67), "TFE_TOKEN"))
        add("databricks-token", wrap("dapi" + rnd(HEX, 32), "DATABRICKS_TOKEN"))
        add("groq-api-key", wrap("gsk_" + rnd(ALNUM, 52), "GROQ_API_KEY"))
        add("xai-api-key", wrap("xai-" + rnd(ALNUM, 80), "XAI_API_KEY"))
        add("linear-api-key", wrap("lin_api_" + rnd(ALNUM, 40), "LINEAR_API_KEY"))
        add("replicate-api-token", wrap("r8_" + rnd(ALNUM, 37), "REPLICATE_API_TOKEN"))
        add("postman-api-key", wrap("PMAK-" + rnd(HEX, 24) + "-" + rnd(HEX, 34), "POSTMAN_API_KEY"))
        add("doppler-token", wrap("dp.pt." + rnd(ALNUM, 43), "DOPPLER_TOKEN"))
        add("sentry-token", wrap("sntryu_" + rnd(HEX, 64), "SENTRY_AUTH_TOKEN"))
        add("heroku-api-key", wrap("HRKU-" + rnd(ALNUM + "-_", 60), "HEROKU_API_KEY"))
        add("mailchimp-api-key", wrap(rnd(HEX, 32) + "-us" + str(R.randrange(1, 21)), "MAILCHIMP_KEY"))
        add("square-token", wrap("EAAA" + rnd(ALNUM + "-_", 60), "SQUARE_ACCESS_TOKEN"))
        add("atlassian-api-token", wrap("ATATT3xFfGF0" + rnd(ALNUM + "-_", 170) + "=" + rnd(HEX.upper(), 8), "JIRA_API_TOKEN"))
        add("google-oauth-access-token", wrap("ya29.a0" + rnd(ALNUM + "-_", 150), "GOOGLE_ACCESS_TOKEN"))
        add("gitlab-token", "REGISTRATION_TOKEN=GR1348941" + rnd(ALNUM + "-_", 20))
    return cases


def negatives():
    cases = []
    add = lambda text: cases.append({"text": text, "label": None})
    fixed = [
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_ACCESS_KEY_ID=AKIAXXXXXXXXXXXXXXXX",
        "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "token: ghp_your_token_here",
        "GITHUB_TOKEN=${{ secrets.GITHUB_TOKEN }}",
        "GITLAB_TOKEN=glpat-xxxxxxxxxxxxxxxxxxxx",
        "SLACK_BOT_TOKEN=xoxb-your-bot-token",
        "SLACK_BOT_TOKEN=xoxb-0000000000-0000000000-xxxxxxxxxxxxxxxxxxxxxxxx",
        "STRIPE_SECRET_KEY=sk_live_XXXXXXXXXXXXXXXXXXXXXXXX",
        "STRIPE_SECRET_KEY=sk_test_...",
        "OPENAI_API_KEY=sk-...",
        "OPENAI_API_KEY=<your-openai-key>",
        "ANTHROPIC_API_KEY=sk-ant-api03-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "ANTHROPIC_API_KEY=${ANTHROPIC_API_KEY}",
        "we use sk-learn and sk-image for the pipeline",
        "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
        "Paste your key between -----BEGIN PRIVATE KEY----- and -----END PRIVATE KEY----- lines.",
        "-----BEGIN OPENSSH PRIVATE KEY-----\n<your key here>\n-----END OPENSSH PRIVATE KEY-----",
        "DATABASE_URL=postgres://user:password@localhost:5432/app",
        "DATABASE_URL=postgres://postgres:postgres@localhost:5432/postgres",
        "DATABASE_URL=postgres://app:${DB_PASSWORD}@db:5432/app",
        "DATABASE_URL=postgresql://app@db.internal:5432/app",
        "REDIS_URL=redis://localhost:6379/0",
        "mysql://root:root@127.0.0.1:3306/test",
        "amqp://guest:guest@localhost:5672/",
        "mongodb://<username>:<password>@cluster0.mongodb.net/",
        "see http://localhost:8080/api/v1/users and https://example.com:443/path",
        "https://user@github.com/org/repo.git",
        "Authorization: Bearer <token>",
        "Authorization: Bearer $TOKEN",
        "Authorization: Bearer ${ACCESS_TOKEN}",
        "Authorization: Basic dXNlcjpwYXNzd29yZA==",
        "api_key = os.environ[\"API_KEY\"]",
        "api_key = os.getenv('API_KEY')",
        "const token = process.env.GITHUB_TOKEN;",
        "password = getpass.getpass()",
        "password = request.form['password']",
        "token = None",
        "SECRET_KEY = env('SECRET_KEY')",
        "password: \"changeme\"",
        "password: ********",
        "api_key: \"YOUR_API_KEY\"",
        "api_key: YOUR_API_KEY_HERE",
        "token_type = \"bearer\"",
        "password_field = \"password\"",
        "max_tokens = 4096",
        "\"token_count\": 1234567",
        "\"password_hash_algorithm\": \"argon2id\"",
        "password_hash = \"$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG\"",
        "SECRET_KEY_LENGTH=64",
        "tokenizer = AutoTokenizer.from_pretrained(\"bert-base-uncased\")",
        "auth = HTTPBasicAuth(user, pw)",
        "author = \"Jane Doe <jane@example.org>\"",
        "authority: https://login.microsoftonline.com/common",
        "secret_name: my-app-db-credentials",
        "password_min_length: 12",
        "token_url: https://oauth2.googleapis.com/token",
        "private_key_path = \"~/.ssh/id_ed25519\"",
        "password_file: /run/secrets/db_password",
        "access_key = config.aws.access_key",
        "client_secret = settings.CLIENT_SECRET",
        "export GH_TOKEN=$(gh auth token)",
        "pk_live_" + "51H" + "x" * 5 + " is a publishable key",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@host",
        "The JWT header eyJhbGciOiJIUzI1NiJ9 is base64 of {\"alg\":\"HS256\"}",
        "eyJhbGciOiJIUzI1NiJ9.notvalidbase64!!.signature",
        "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ",
        "hf_hub_download(repo_id='bert-base-uncased', filename='config.json')",
        "Set HF_TOKEN=hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx in your shell",
        "SG.sendgrid.example.placeholder.value",
        "xoxb-not-a-real-token",
        "Bot token looks like 123456789:AAxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "docker run -e PASSWORD -e TOKEN image:latest",
        "git commit -m 'rotate the token and the password'",
        "The password must contain at least 12 characters.",
        "token expired at 2025-11-25T10:00:00Z, requesting a new one",
    ]
    for text in fixed:
        add(text)
    for _ in range(8):
        add(wrap(bad_crc_token(R.choice(["ghp_", "gho_", "ghs_"])), "GITHUB_TOKEN"))
        add("NPM_TOKEN=" + bad_crc_token("npm_"))
        add("AGE_KEY=" + age_key(valid=False))
        add(f"commit {rnd(HEX, 40)}\nAuthor: Dev <dev@corp.test>")
        add(f"sha256:{rnd(HEX, 64)}")
        add(f"\"integrity\": \"sha512-{base64.b64encode(R.randbytes(64)).decode()}\"")
        add(f"request_id={rnd(HEX, 8)}-{rnd(HEX, 4)}-4{rnd(HEX, 3)}-a{rnd(HEX, 3)}-{rnd(HEX, 12)}")
        add(f"data:image/png;base64,{base64.b64encode(R.randbytes(60)).decode()}")
        add("-----BEGIN PUBLIC KEY-----\n" + "\n".join(base64.b64encode(R.randbytes(48)).decode() for _ in range(4)) + "\n-----END PUBLIC KEY-----")
        add("-----BEGIN CERTIFICATE-----\n" + "\n".join(base64.b64encode(R.randbytes(48)).decode() for _ in range(6)) + "\n-----END CERTIFICATE-----")
        add(f"pk_live_{rnd(ALNUM, 24)}")
        add(f"session_id: {rnd(ALNUM, 32)}")
        add(f"checksum = \"{rnd(HEX, 64)}\"")
        add(f"url: https://cdn.service.test/assets/{rnd(ALNUM, 32)}.js")
        add(f"token_count={R.randrange(10**9)} max_tokens={R.randrange(10**5)}")
        add(f"AKIA{rnd(UPPER + '234567', 12)} is too short for an access key id")
        add(f"Bearer {rnd(LOWER, 6)}")
        add(f"user_password_policy = \"{R.choice(['strict', 'lenient', 'default'])}\"")
        add(f"postgres://{R.choice(['app', 'svc'])}@{R.choice(['db', 'db.internal'])}:5432/{R.choice(['app', 'prod'])}?sslmode=require")
        add(f"model = \"{R.choice(['gpt-4o-mini', 'claude-3-5-sonnet-20241022', 'text-embedding-3-large'])}\"  # api_key from env")
    return cases


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    cases = positives() + negatives()
    with open(os.path.join(here, "scanner_cases.jsonl"), "w") as f:
        for case in cases:
            f.write(json.dumps(case) + "\n")
    pos = sum(1 for c in cases if c["label"])
    print(f"wrote {len(cases)} cases: {pos} positive, {len(cases) - pos} negative")


if __name__ == "__main__":
    main()
