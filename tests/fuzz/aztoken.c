/* aztoken.c — fuzz target: token endpoint answers and token files' JSON
 * (store/aztoken.c: access_token, expires_on / expires_in, the JWT's exp),
 * and the exp claim of the input taken as a raw JWT. */
#include "fuzz.h"

#include "store/aztoken.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *token;
	time_t exp;
	if (ferry_aztoken_parse_response((const char *)data, size, &token, &exp) == 0)
		free(token);
	char *s = fuzz_str(data, size);
	(void)ferry_jwt_exp(s);
	free(s);
	return 0;
}
