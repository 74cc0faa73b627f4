/*
 * test_s3env.c — where S3 credentials, region and endpoint come from
 * (ferry_s3_env_load): AWS_* variables before the shared credentials file;
 * AWS_PROFILE picks a section, "default" otherwise; the config file's region
 * for "[profile NAME]"; AWS_ENDPOINT_URL_S3 over AWS_ENDPOINT_URL; a named
 * profile that is missing, or one without its secret, is an auth error; no
 * credentials at all is anonymous ("none").
 */
#include "check.h"
#include "store/s3.h"

#include <stdlib.h>
#include <unistd.h>

static const char *vars[] = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
			      "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_REGION", "AWS_DEFAULT_REGION",
			      "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3" };

static void clear_env(void)
{
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

int main(void)
{
	char dir[] = "/tmp/ferry-s3env-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char creds[128], config[128];
	snprintf(creds, sizeof(creds), "%s/credentials", dir);
	snprintf(config, sizeof(config), "%s/config", dir);
	write_file(creds, "# comment\n[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key=secretdefault\n\n"
			  "[work]\n  aws_access_key_id=AKIAWORK  \naws_secret_access_key = secretwork\n"
			  "aws_session_token = tokenwork\n[broken]\naws_access_key_id = AKIABROKEN\n");
	write_file(config, "[default]\nregion = eu-west-1\n[profile work]\nregion=ap-south-1\n");
	setenv("HOME", dir, 1); /* ~/.aws does not exist there */
	struct ferry_s3_env e;
	ferry_err err;

	clear_env();
	CHECK(ferry_s3_env_load(&e, &err) == 0);
	CHECK(!strcmp(e.source, "none") && !e.access_key[0] && !strcmp(e.region, "us-east-1") && !e.endpoint[0]);

	setenv("AWS_SHARED_CREDENTIALS_FILE", creds, 1);
	setenv("AWS_CONFIG_FILE", config, 1);
	CHECK(ferry_s3_env_load(&e, &err) == 0);
	CHECK(!strcmp(e.access_key, "AKIADEFAULT") && !strcmp(e.secret_key, "secretdefault"));
	CHECK(!strcmp(e.region, "eu-west-1") && !e.session_token[0]);
	CHECK(strstr(e.source, "profile 'default'") != NULL);

	setenv("AWS_PROFILE", "work", 1);
	CHECK(ferry_s3_env_load(&e, &err) == 0);
	CHECK(!strcmp(e.access_key, "AKIAWORK") && !strcmp(e.secret_key, "secretwork"));
	CHECK(!strcmp(e.session_token, "tokenwork") && !strcmp(e.region, "ap-south-1"));

	setenv("AWS_REGION", "us-west-2", 1);
	setenv("AWS_DEFAULT_REGION", "ca-central-1", 1);
	CHECK(ferry_s3_env_load(&e, &err) == 0 && !strcmp(e.region, "us-west-2"));
	unsetenv("AWS_REGION");
	CHECK(ferry_s3_env_load(&e, &err) == 0 && !strcmp(e.region, "ca-central-1"));

	setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
	CHECK(ferry_s3_env_load(&e, &err) == 0);
	CHECK(!strcmp(e.access_key, "AKIAENV") && !strcmp(e.secret_key, "secretenv") && !e.session_token[0]);
	CHECK(!strcmp(e.source, "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"));
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");

	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000", 1);
	CHECK(ferry_s3_env_load(&e, &err) == 0 && !strcmp(e.endpoint, "http://127.0.0.1:9000"));
	setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9001", 1);
	CHECK(ferry_s3_env_load(&e, &err) == 0 && !strcmp(e.endpoint, "http://127.0.0.1:9001"));

	setenv("AWS_PROFILE", "missing", 1);
	CHECK(ferry_s3_env_load(&e, &err) == -1 && err.code == FERRY_E_AUTH && strstr(err.msg, "missing"));
	setenv("AWS_PROFILE", "broken", 1);
	CHECK(ferry_s3_env_load(&e, &err) == -1 && err.code == FERRY_E_AUTH && strstr(err.msg, "broken"));

	unlink(creds);
	unlink(config);
	rmdir(dir);
	clear_env();
	return CHECK_DONE();
}
