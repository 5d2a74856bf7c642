"""The applicant's ID number at rest: sealed in its column, and found through a blind index so
that nothing is decrypted to search (shared.personal_data.protection)."""

from __future__ import annotations

from shared.personal_data.protection import FieldCipher

ID_NUMBER_COLUMN = "applications.id_number"


class IdNumberCipher:
    def __init__(self, cipher: FieldCipher) -> None:
        self.cipher = cipher

    def encrypt(self, id_number: str) -> str:
        return self.cipher.encrypt(id_number, column=ID_NUMBER_COLUMN)

    def decrypt(self, token: str) -> str:
        return self.cipher.decrypt(token, column=ID_NUMBER_COLUMN)

    def blind_index(self, id_number: str) -> str:
        return self.cipher.blind_index(id_number, column=ID_NUMBER_COLUMN)
