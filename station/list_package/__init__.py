"""The station list package: built and signed at the CEC, verified, decrypted and loaded by the kit."""

from station.list_package.build import ListVoter, build_package, read_national_csv
from station.list_package.format import PackageContents, open_package
from station.list_package.keys import generate_cec_keys, load_cec_public, load_cec_signing_key, load_list_key
from station.list_package.load import load_package, unseal_biometrics

__all__ = [
    "ListVoter",
    "PackageContents",
    "build_package",
    "generate_cec_keys",
    "load_cec_public",
    "load_cec_signing_key",
    "load_list_key",
    "load_package",
    "open_package",
    "read_national_csv",
    "unseal_biometrics",
]
