/* Linked against the SS_IKE_FUZZING variant only: the positive control of check_variant.sh
 * (a program that does hold the variant, so that the check is seen to be able to fail). */
extern const char ss_ike_fuzzing_marker[];

int main(void)
{
	return ss_ike_fuzzing_marker[0] == 'S' ? 0 : 1;
}
