/* Names of IKEv2 numbers, for logs. */
#include "ike/codec.h"

const char *ss_ike_codec_err_name(enum ss_ike_codec_err e)
{
	switch (e) {
	case SS_CODEC_OK: return "ok";
	case SS_CODEC_TRUNCATED: return "truncated";
	case SS_CODEC_BAD_LENGTH: return "bad-length";
	case SS_CODEC_BAD_VERSION: return "bad-version";
	case SS_CODEC_BAD_COUNT: return "bad-count";
	case SS_CODEC_BAD_VALUE: return "bad-value";
	case SS_CODEC_DUPLICATE: return "duplicate";
	case SS_CODEC_CRITICAL: return "unsupported-critical";
	case SS_CODEC_SK_NOT_LAST: return "sk-not-last";
	case SS_CODEC_N_ERRS: break;
	}
	return "?";
}

const char *ss_ike_payload_name(uint8_t t)
{
	switch (t) {
	case SS_PL_NONE: return "none";
	case SS_PL_SA: return "SA";
	case SS_PL_KE: return "KE";
	case SS_PL_IDI: return "IDi";
	case SS_PL_IDR: return "IDr";
	case SS_PL_CERT: return "CERT";
	case SS_PL_CERTREQ: return "CERTREQ";
	case SS_PL_AUTH: return "AUTH";
	case SS_PL_NONCE: return "Nonce";
	case SS_PL_NOTIFY: return "N";
	case SS_PL_DELETE: return "D";
	case SS_PL_VENDOR: return "V";
	case SS_PL_TSI: return "TSi";
	case SS_PL_TSR: return "TSr";
	case SS_PL_SK: return "SK";
	case SS_PL_CP: return "CP";
	case SS_PL_EAP: return "EAP";
	case SS_PL_SKF: return "SKF";
	}
	return "unknown";
}

const char *ss_ike_exchange_name(uint8_t t)
{
	switch (t) {
	case SS_IKE_SA_INIT: return "IKE_SA_INIT";
	case SS_IKE_AUTH: return "IKE_AUTH";
	case SS_IKE_CREATE_CHILD_SA: return "CREATE_CHILD_SA";
	case SS_IKE_INFORMATIONAL: return "INFORMATIONAL";
	}
	return "unknown";
}

const char *ss_ike_notify_name(uint16_t t)
{
	switch (t) {
	case SS_N_UNSUPPORTED_CRITICAL_PAYLOAD: return "UNSUPPORTED_CRITICAL_PAYLOAD";
	case SS_N_INVALID_IKE_SPI: return "INVALID_IKE_SPI";
	case SS_N_INVALID_MAJOR_VERSION: return "INVALID_MAJOR_VERSION";
	case SS_N_INVALID_SYNTAX: return "INVALID_SYNTAX";
	case SS_N_INVALID_MESSAGE_ID: return "INVALID_MESSAGE_ID";
	case SS_N_INVALID_SPI: return "INVALID_SPI";
	case SS_N_NO_PROPOSAL_CHOSEN: return "NO_PROPOSAL_CHOSEN";
	case SS_N_INVALID_KE_PAYLOAD: return "INVALID_KE_PAYLOAD";
	case SS_N_AUTHENTICATION_FAILED: return "AUTHENTICATION_FAILED";
	case SS_N_SINGLE_PAIR_REQUIRED: return "SINGLE_PAIR_REQUIRED";
	case SS_N_NO_ADDITIONAL_SAS: return "NO_ADDITIONAL_SAS";
	case SS_N_INTERNAL_ADDRESS_FAILURE: return "INTERNAL_ADDRESS_FAILURE";
	case SS_N_FAILED_CP_REQUIRED: return "FAILED_CP_REQUIRED";
	case SS_N_TS_UNACCEPTABLE: return "TS_UNACCEPTABLE";
	case SS_N_INVALID_SELECTORS: return "INVALID_SELECTORS";
	case SS_N_TEMPORARY_FAILURE: return "TEMPORARY_FAILURE";
	case SS_N_CHILD_SA_NOT_FOUND: return "CHILD_SA_NOT_FOUND";
	case SS_N_INITIAL_CONTACT: return "INITIAL_CONTACT";
	case SS_N_NAT_DETECTION_SOURCE_IP: return "NAT_DETECTION_SOURCE_IP";
	case SS_N_NAT_DETECTION_DESTINATION_IP: return "NAT_DETECTION_DESTINATION_IP";
	case SS_N_COOKIE: return "COOKIE";
	case SS_N_USE_TRANSPORT_MODE: return "USE_TRANSPORT_MODE";
	case SS_N_REKEY_SA: return "REKEY_SA";
	case SS_N_ESP_TFC_PADDING_NOT_SUPPORTED: return "ESP_TFC_PADDING_NOT_SUPPORTED";
	case SS_N_MOBIKE_SUPPORTED: return "MOBIKE_SUPPORTED";
	case SS_N_IKEV2_FRAGMENTATION_SUPPORTED: return "FRAGMENTATION_SUPPORTED";
	case SS_N_SIGNATURE_HASH_ALGORITHMS: return "SIGNATURE_HASH_ALGORITHMS";
	}
	return "notify";
}
