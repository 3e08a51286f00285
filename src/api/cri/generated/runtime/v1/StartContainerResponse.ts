// Original file: src/api/cri/generated/api.proto


export interface StartContainerResponse {
}

export interface StartContainerResponse__Output {
}
